"""Liveness, readiness and metrics (docs/ARCHITECTURE.md, "Operations")."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, get
from litestar.datastructures import State
from litestar.openapi.datastructures import ResponseSpec

from gateway import metrics
from gateway.api.auth import require_staff
from gateway.api.deps import DispatcherDep, SettingsDep, StoreDep

__all__ = ("Health", "healthz", "metrics_endpoint", "readyz")


class Health(msgspec.Struct):
    """A health answer; ``checks`` says what was looked at."""

    status: str
    checks: dict[str, bool] = msgspec.field(default_factory=dict)


@get("/healthz", operation_id="healthz", summary="The process is alive", tags=["operations"])
async def healthz() -> Health:
    return Health("ok")


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
    return Response(metrics.render(), media_type=metrics.CONTENT_TYPE_LATEST)
