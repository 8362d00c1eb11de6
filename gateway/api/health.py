"""Liveness, readiness and metrics (docs/ARCHITECTURE.md, "Operations")."""

from __future__ import annotations

import contextlib
from typing import Any

import msgspec
from litestar import Request, Response, get, head
from litestar.datastructures import State
from litestar.openapi.datastructures import ResponseSpec
from litestar.response import Redirect

from gateway import metrics
from gateway.api.auth import require_staff
from gateway.api.deps import DispatcherDep, SettingsDep, StoreDep
from gateway.dispatch.dispatcher import Dispatcher
from gateway.dispatch.limits import BreakerState
from gateway.store.base import StoreUnavailable

__all__ = ("Health", "healthz", "healthz_head", "metrics_endpoint", "readyz", "root")


class Health(msgspec.Struct):
    """A health answer; ``checks`` says what was looked at.

    ``breakers`` is each vendor product's circuit breaker (``closed``, ``open``, ``half-open``); with PostgreSQL
    it is shared by every gateway process, with SQLite it is this process's own (all closed in a ``serve`` whose
    dispatcher runs in a separate ``worker``). An open breaker does not make the gateway unready: messages wait.
    """

    status: str
    checks: dict[str, bool] = msgspec.field(default_factory=dict)
    breakers: dict[str, str] = msgspec.field(default_factory=dict)


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
    summary="The store answers and the dispatcher runs; each vendor product's circuit breaker",
    tags=["operations"],
    responses={503: ResponseSpec(Health, description="Not ready: `checks` says what failed", generate_examples=False)},
)
async def readyz(state: State, store: StoreDep, dispatcher: DispatcherDep) -> Response[Health]:
    checks = {
        "store": await store.ping(),
        "dispatcher": dispatcher.running or not state.run_dispatcher,
    }
    ready = all(checks.values())
    breakers: dict[str, str] = {}
    if checks["store"]:
        with contextlib.suppress(StoreUnavailable):  # the store went away since the ping: checks say enough
            breakers = dict(await _breaker_states(dispatcher))
    health = Health("ok" if ready else "unavailable", checks, breakers)
    return Response(health, status_code=200 if ready else 503)


@get("/metrics", operation_id="metrics", summary="Prometheus metrics", tags=["operations"], include_in_schema=False)
async def metrics_endpoint(
    request: Request[Any, Any, State], settings: SettingsDep, dispatcher: DispatcherDep
) -> Response[bytes]:
    if not settings.metrics_public:
        await require_staff(request, None)
    with contextlib.suppress(StoreUnavailable):  # the other metrics are still worth having
        await _breaker_states(dispatcher)
    # As a header: given as the media type, Litestar would append a second "; charset=utf-8" to it.
    return Response(metrics.render(), headers={"Content-Type": metrics.CONTENT_TYPE_LATEST})


async def _breaker_states(dispatcher: Dispatcher) -> dict[str, BreakerState]:
    """Each vendor product's breaker, also set as the ``gateway_vendor_breaker`` gauge."""
    states = await dispatcher.breaker_states()
    metrics.set_breakers(states)
    return states
