"""The baseline of the ingest benchmark: a bare Litestar endpoint on the gateway's route that stores nothing.

It reads and decodes the body exactly as the gateway does (a msgspec JSON object decode) and answers ``202`` with
an answer of the same shape, so the ratio gateway/bare measures what authentication, normalisation and the
durable store cost. For the content benchmark it also answers ``GET /v1/content/best`` with the
upstream's body as constant bytes: the ratio then measures what authentication and the cache cost.
Run it with ``uvicorn --factory bare_app:create_bare_app --app-dir bench``.

See docs/ARCHITECTURE.md, "Quality bars".
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from litestar import Litestar, Request, Response, get, post
from litestar.datastructures import State
from upstream_app import BEST_BODY

__all__ = ("BareAnswer", "create_bare_app")

_DECODER = msgspec.json.Decoder(dict[str, Any])


class BareAnswer(msgspec.Struct):
    """The gateway's answer shape: message id, status and whether it was a repeat."""

    messageId: str  # camelCase: the API's JSON key
    status: str
    duplicate: bool


@post("/v1/braze/messages", status_code=202)
async def receive(request: Request[Any, Any, State]) -> Response[BareAnswer]:
    """Decode the body as a JSON object and answer ``202`` without storing it."""
    _DECODER.decode(await request.body())
    return Response(BareAnswer(uuid.uuid4().hex, "queued", False), status_code=202)


@get("/v1/content/best")
async def content() -> Response[bytes]:
    """The upstream's answer, without authentication, cache or upstream."""
    return Response(BEST_BODY, media_type="application/json")


@get("/healthz")
async def healthz() -> dict[str, str]:
    """Readiness probe for the benchmark runner."""
    return {"status": "ok"}


def create_bare_app() -> Litestar:
    """Build the baseline app."""
    return Litestar(route_handlers=[receive, content, healthz], openapi_config=None)
