"""The Connected Content upstream of the content benchmark: a customer's "real-time best" API, fast or slow.

- ``/best``: answers :data:`BEST_BODY` at once;
- ``/slow``: answers it after 5 s (longer than Braze waits);
- ``/once``: answers at once the first time a query is asked, after 5 s every later time (the upstream that
  turns slow once the cache holds a copy);
- ``/calls``: the calls received so far, per path.

Run it with ``uvicorn --factory upstream_app:create_upstream_app --app-dir bench``.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from typing import Any

from litestar import Litestar, Request, Response, get
from litestar.datastructures import State

__all__ = ("BEST_BODY", "SLOW_S", "create_upstream_app")

SLOW_S = 5.0
_PROJECT = {
    "title": "✨[14억+ 앵콜] 미용실 50배 효과?! 단백질 쇼크 LPT 헤어팩🎉",
    "category": "헤어케어",
    "url": "https://www.wadiz.kr/web/campaign/detail/356850",
    "imageUrl": "https://cdn.wadiz.kr/wwwwadiz/green001/2025/0610/20250610093000_356850.jpg",
    "achievementRate": 14273,
}
#: Ten projects of the seed's category, as the customer's API lists them (about 2.5 KB).
BEST_BODY = json.dumps({"data": {"list": [_PROJECT] * 10}}, ensure_ascii=False).encode()
_JSON = "application/json"


def _answer() -> Response[bytes]:
    return Response(BEST_BODY, media_type=_JSON)


@get("/best")
async def best(state: State) -> Response[bytes]:
    state.calls["best"] += 1
    return _answer()


@get("/slow")
async def slow(state: State) -> Response[bytes]:
    state.calls["slow"] += 1
    await asyncio.sleep(SLOW_S)
    return _answer()


@get("/once")
async def once(request: Request[Any, Any, State], state: State) -> Response[bytes]:
    state.calls["once"] += 1
    query = request.scope["query_string"]
    if query in state.seen:
        await asyncio.sleep(SLOW_S)
    state.seen.add(query)
    return _answer()


@get("/calls")
async def calls(state: State) -> dict[str, int]:
    return dict(state.calls)


@get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


def create_upstream_app() -> Litestar:
    """Build the upstream."""
    return Litestar(
        route_handlers=[best, slow, once, calls, healthz],
        state=State({"calls": Counter(), "seen": set()}),
        openapi_config=None,
    )
