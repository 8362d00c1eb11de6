"""``GET /v1/content/{source}``: the Connected Content endpoint Braze calls at send time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request, Response, get
from litestar.datastructures import ResponseHeader, State
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, OpenAPIType, Operation, Schema
from litestar.params import FromPath

from gateway.api.auth import require_ingest_token
from gateway.api.problems import BEARER, Problem, problem_responses
from gateway.content.service import ContentService
from gateway.content.upstream import UpstreamError

__all__ = ("get_content",)

_JSON = "application/json"
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
async def get_content(request: Request[Any, Any, State], source: FromPath[str]) -> Response[bytes]:
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
    return Response(answer.body, media_type=_JSON, headers={"X-Cache": answer.cache, "Age": str(answer.age)})
