"""Liveness, readiness and metrics (docs/ARCHITECTURE.md, "Operations")."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, get, head
from litestar.datastructures import State
from litestar.openapi.datastructures import ResponseSpec
from litestar.response import Redirect

from gateway import metrics
from gateway.api.auth import require_staff
from gateway.api.deps import DispatcherDep, SettingsDep, StoreDep

__all__ = ("Health", "healthz", "healthz_head", "metrics_endpoint", "readyz", "root")


class Health(msgspec.Struct):
    """A health answer; ``checks`` says what was looked at."""

    status: str
    checks: dict[str, bool] = msgspec.field(default_factory=dict)


@get("/healthz", operation_id="healthz", summary="The process is alive", tags=["operations"])
async def healthz() -> Health:
    return Health("ok")


@head("/healthz", operation_id="healthzHead", summary="The process is alive (for uptime checkers)", tags=["operations"])
async def healthz_head() -> None:
    """``HEAD /healthz``: 200 without a body."""


@get("/", include_in_schema=False)
async def root() -> Redirect:
    """The bare host leads people to the support console."""
    return Redirect("/admin", status_code=302)


@get(
    "/readyz",
    operation_id="readyz",
    summary="The store answers and the dispatcher runs",
    tags=["operations"],
    responses={503: ResponseSpec(Health, description="Not ready: `checks` says what failed", generate_examples=False)},
)
async def readyz(state: State, store: StoreDep, dispatcher: DispatcherDep) -> Response[Health]:
    checks = {
        "store": await store.ping(),
        "dispatcher": dispatcher.running or not state.run_dispatcher,
    }
    ready = all(checks.values())
    return Response(Health("ok" if ready else "unavailable", checks), status_code=200 if ready else 503)


@get("/metrics", operation_id="metrics", summary="Prometheus metrics", tags=["operations"], include_in_schema=False)
async def metrics_endpoint(request: Request[Any, Any, State], settings: SettingsDep) -> Response[bytes]:
    if not settings.metrics_public:
        await require_staff(request, None)
    # As a header: given as the media type, Litestar would append a second "; charset=utf-8" to it.
    return Response(metrics.render(), headers={"Content-Type": metrics.CONTENT_TYPE_LATEST})
