"""The ASGI fast path of ``POST /v1/braze/messages``: ingest without Litestar's per-request machinery.

Litestar builds a ``Request``, parses every header, resolves the handler's signature, dependencies and exception
handlers and wraps the answer in a ``Response`` for each call; on ingest, the gateway's hottest route, that cost
0.034 ms of CPU per request, most of what a whole request to a bare Litestar endpoint costs (bench/README.md,
"Ingest"). :class:`GatewayApp` answers that one route itself, with the same :func:`~gateway.api.ingest.ingest` as
the Litestar handler, which stays registered for the OpenAPI document and answers everything the fast path leaves to
it (other methods, a ``root_path``). Every answer is the one the Litestar route gives: the same status, headers and
body, the same problem details for every refusal, the body size limit read from the route, 413 kept for support.

The fast path bypasses app-level middleware and hooks: the app has none, and
``tests/gateway/api/test_ingest_asgi.py`` fails if one is added.
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.exceptions import ClientException, InternalServerException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.routes import HTTPRoute
from litestar.serialization import encode_json
from litestar.types import HTTPResponseBodyEvent, HTTPResponseStartEvent, Receive, Scope, Send

from gateway.api.ingest import IngestHeaders, ingest
from gateway.api.problems import PROBLEM_JSON, problem_for

__all__ = ("INGEST_PATH", "GatewayApp")

INGEST_PATH = "/v1/braze/messages"
#: The headers ingest reads, by their place in :class:`IngestHeaders` (then ``content-length``).
_HEADERS = {b"authorization": 0, b"content-type": 1, b"idempotency-key": 2, b"dry-run": 3, b"content-length": 4}
_JSON = b"application/json"
_PROBLEM = PROBLEM_JSON.encode()


class GatewayApp(Litestar):
    """The gateway's Litestar app, answering ``POST /v1/braze/messages`` on the fast path."""

    _ingest_limit: float | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Answer ingest here; everything else (lifespan included) goes to Litestar."""
        if (
            scope["type"] == "http"
            and scope["path"] == INGEST_PATH
            and scope["method"] == "POST"
            and not scope.get("root_path")
        ):
            await self._ingest(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)

    async def _ingest(self, scope: Scope, receive: Receive, send: Send) -> None:
        found: list[str | None] = [None] * len(_HEADERS)
        for name, value in scope["headers"]:
            slot = _HEADERS.get(name.lower())
            # The first of repeated headers, decoded as Litestar decodes them.
            if slot is not None and found[slot] is None:
                found[slot] = value.decode("latin-1")
        authorization, content_type, key, dry_run, length = found
        headers = IngestHeaders(authorization or "", content_type or "", key, dry_run)
        limit = self._ingest_limit or self._read_ingest_limit()

        async def read_body() -> bytes:
            return await _read_body(receive, length, limit)

        try:
            status, answer = await ingest(self.state, headers, read_body)
        except Exception as exc:  # answered as the app's exception handlers answer it
            problem = problem_for(exc)
            await _answer(send, problem.status, encode_json(problem.details()), _PROBLEM, problem.headers)
        else:
            await _answer(send, status, encode_json(answer), _JSON, None)

    def _read_ingest_limit(self) -> float:
        """The body size limit Litestar applies to the ingest route (its own, else the app's)."""
        route = next(r for r in self.routes if isinstance(r, HTTPRoute) and r.path == INGEST_PATH)
        self._ingest_limit = route.route_handler_map["POST"][0].resolve_request_max_body_size() or float("inf")
        return self._ingest_limit


async def _read_body(receive: Receive, length: str | None, limit: float) -> bytes:
    """The whole body, refused as Litestar's ``Request.body`` refuses it (413 past ``limit``)."""
    try:
        announced = None if length is None else int(length)
    except ValueError:
        raise ClientException(f"Invalid content-length: {length!r}") from None
    if announced is not None and announced > limit:
        raise RequestEntityTooLarge
    chunks: list[bytes] = []
    size = 0
    while True:
        event = await receive()
        if event["type"] == "http.request":
            chunk = event.get("body", b"")
            if chunk:
                size += len(chunk)
                if size > limit:
                    raise RequestEntityTooLarge
                chunks.append(chunk)
            if not event.get("more_body", False):
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)
        elif event["type"] == "http.disconnect":
            raise InternalServerException("client disconnected prematurely")


async def _answer(send: Send, status: int, body: bytes, media_type: bytes, extra: dict[str, str] | None) -> None:
    """Send the answer with the headers Litestar's ``Response`` sends: its own first, then type and length."""
    headers = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in (extra or {}).items()]
    headers += [(b"content-type", media_type), (b"content-length", str(len(body)).encode())]
    await send(HTTPResponseStartEvent(type="http.response.start", status=status, headers=headers))
    await send(HTTPResponseBodyEvent(type="http.response.body", body=body, more_body=False))
