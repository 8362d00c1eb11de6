"""``GET /v1/content/{source}``: the Connected Content endpoint Braze calls at send time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request, get
from litestar.datastructures import ResponseHeader, State
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, OpenAPIType, Operation, Schema
from litestar.params import FromPath
from litestar.types import ASGIApp, Receive, Scope, Send

from gateway.api.auth import require_ingest_token
from gateway.api.problems import BEARER, Problem, problem_responses
from gateway.content.service import Answer, ContentService
from gateway.content.upstream import UpstreamError

__all__ = ("get_content",)

_JSON = "application/json"
_JSON_TYPE = (b"content-type", _JSON.encode())
_ANSWER = Schema(
    type=OpenAPIType.OBJECT,
    description="Whatever JSON object the upstream answered (with a list at GATEWAY_CONTENT_LIST_PATH, if set).",
)


@dataclass
class _ContentOperation(Operation):
    """The route's operation, its answer a JSON object: the handler returns the upstream's bytes as they came."""

    def __post_init__(self) -> None:
        ok = (self.responses or {})["200"]
        if isinstance(ok, OpenAPIResponse):
            ok.content = {_JSON: OpenAPIMediaType(schema=_ANSWER)}


@get(
    "/v1/content/{source:str}",
    operation_id="getConnectedContent",
    summary="The upstream's JSON object for this query, from the cache",
    description=(
        "Answers the JSON object of the upstream configured as `source` in `GATEWAY_CONTENT_SOURCES` for the "
        "request's query parameters (passed on to the upstream; their order does not matter). Copies are fresh "
        "for `GATEWAY_CONTENT_TTL` seconds; a stale copy answers at once while one refresh runs. Every answer "
        "is given within 2 s."
    ),
    tags=["content"],
    operation_class=_ContentOperation,
    security=BEARER,
    response_headers=[
        ResponseHeader(
            name="X-Cache",
            documentation_only=True,
            description="`HIT` (fresh copy), `MISS` (fetched for this request) or `STALE` (older than the TTL, "
            "or the upstream failed)",
        ),
        ResponseHeader(name="Age", documentation_only=True, description="Seconds since the copy was fetched"),
    ],
    media_type=_JSON,
    response_description="The upstream's JSON object, as it sent it",
    responses=problem_responses(401, 404, 502),
)
async def get_content(request: Request[Any, Any, State], source: FromPath[str]) -> ASGIApp:
    """Answer from the cache, or from one upstream call shared by every concurrent request for the same query."""
    # Authenticated here rather than by a route guard, as ingest is: a guard costs more than the check on a hot route.
    await require_ingest_token(request, None)
    service: ContentService = request.app.state.content
    if source not in service.sources:
        raise Problem(404, "No content source of that name is configured (GATEWAY_CONTENT_SOURCES).")
    try:
        answer = await service.answer(source, sorted(request.query_params.multi_items()))
    except UpstreamError as error:
        raise Problem(502, error.detail) from None
    return _Answer(answer)


class _Answer:
    """The ASGI response of an answer, its headers given encoded.

    Litestar's response classes gather headers in a header object that each ``setdefault`` scans; on a cache hit
    that cost as much as the rest of the answer (bench/README.md).
    """

    __slots__ = ("_answer",)

    def __init__(self, answer: Answer) -> None:
        self._answer = answer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body, cache, age = self._answer
        headers = [
            _JSON_TYPE,
            (b"content-length", b"%d" % len(body)),
            (b"x-cache", cache.encode()),
            (b"age", b"%d" % age),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})
