"""The application factory: the one place that wires settings, store, HTTP client, adapters and dispatcher."""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx
from litestar import Litestar, Router
from litestar.datastructures import State
from litestar.exceptions import HTTPException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

from adapters.base import HTTP_LIMITS
from adapters.registry import Runtime, build_runtime
from gateway.api.admin import ADMIN_HANDLERS
from gateway.api.auth import require_staff
from gateway.api.callbacks import callback_router
from gateway.api.campaigns import CAMPAIGN_HANDLERS
from gateway.api.health import healthz, metrics_endpoint, readyz
from gateway.api.ingest import receive_braze_message
from gateway.api.problems import Problem, handle_http_exception, handle_problem, handle_unexpected
from gateway.console import console_handlers, console_templates
from gateway.dispatch.dispatcher import Dispatcher
from gateway.dispatch.monitor import QueueMonitor
from gateway.feedback.transport import with_braze
from gateway.normalise.inbound import policy_from_settings
from gateway.receipts.duties import receipt_duties
from gateway.receipts.intake import CallbackIntake, callback_auth
from gateway.retention import RetentionPurge
from gateway.settings import Settings, load_settings
from gateway.store import open_store
from gateway.store.base import Store

__all__ = ("create_app", "http_client", "open_runtime")

_log = logging.getLogger(__name__)
#: Vendor calls: fail fast on connect, allow a slow vendor 10 s to answer.
_TIMEOUT = httpx.Timeout(10.0, connect=3.0)


def http_client(transport: httpx.AsyncBaseTransport | None) -> httpx.AsyncClient:
    """The one shared client for every vendor call."""
    return httpx.AsyncClient(transport=transport, timeout=_TIMEOUT, limits=HTTP_LIMITS)


@asynccontextmanager
async def open_runtime(
    settings: Settings, *, store: Store | None = None, clock: Callable[[], float] = time.time
) -> AsyncIterator[tuple[Store, Runtime, Dispatcher]]:
    """Open the store and the vendor client and build the dispatcher; closes all of it on exit."""
    for warning in settings.warnings():
        _log.warning(warning)
    store = store or open_store(settings.database_url)
    await store.open()
    runtime = build_runtime(settings)
    client = http_client(with_braze(runtime.transport, settings))
    dispatcher = Dispatcher(
        store,
        runtime.adapters,
        client,
        settings,
        policy_from_settings(settings),
        clock=clock,
        batch_size=settings.dispatch_batch,
    )
    dispatcher.attach(*receipt_duties(settings, store, runtime, client, dispatcher, clock=clock))
    dispatcher.attach(RetentionPurge(store, settings.retention_days, clock=clock))
    try:
        yield store, runtime, dispatcher
    finally:
        await dispatcher.stop()
        await client.aclose()
        await store.close()


def create_app(
    settings: Settings | None = None,
    *,
    store: Store | None = None,
    clock: Callable[[], float] = time.time,
    start_dispatcher: bool | None = None,
) -> Litestar:
    """Build the gateway.

    Args:
        settings: Defaults to :func:`load_settings` from the environment.
        store: Defaults to the store named by ``settings.database_url``.
        clock: POSIX time source for the dispatcher and ingest.
        start_dispatcher: Run the dispatcher in this process; defaults to ``settings.dispatcher``.
    """
    settings = settings or load_settings()
    run_dispatcher = settings.dispatcher if start_dispatcher is None else start_dispatcher

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        async with open_runtime(settings, store=store, clock=clock) as (opened, runtime, dispatcher):
            monitor = QueueMonitor(opened, high_water=settings.queue_high_water)
            app.state.update(store=opened, runtime=runtime, dispatcher=dispatcher, monitor=monitor)
            app.state.intake = CallbackIntake(opened, callback_auth(settings, runtime), clock=clock)
            await monitor.start()
            # Everything built so far lives as long as the process: moved out of the collector's sight, a full
            # collection no longer walks it, which halved ingest's p99 (bench/README.md).
            gc.freeze()
            if run_dispatcher:
                await dispatcher.start()
            try:
                yield
            finally:
                await monitor.stop()

    return Litestar(
        route_handlers=[
            receive_braze_message,
            callback_router(settings.callback_max_body_bytes),
            *ADMIN_HANDLERS,
            *CAMPAIGN_HANDLERS,
            *console_handlers(settings),
            healthz,
            readyz,
            metrics_endpoint,
        ],
        lifespan=[lifespan],
        state=State(
            {
                "settings": settings,
                "policy": policy_from_settings(settings),
                "clock": clock,
                "run_dispatcher": run_dispatcher,
            }
        ),
        exception_handlers={
            Problem: handle_problem,
            HTTPException: handle_http_exception,
            Exception: handle_unexpected,
        },
        request_max_body_size=settings.max_body_bytes,
        template_config=console_templates(),
        # Logging is configured once by the CLI (JSON lines without personal data), not by Litestar.
        logging_config=None,
        openapi_config=_openapi_config(),
    )


def _openapi_config() -> OpenAPIConfig:
    """OpenAPI at ``/schema``, for staff only: nothing but health, readiness and metrics is public."""
    return OpenAPIConfig(
        title="Vendor webhook gateway",
        version="0.1.0",
        path="/schema",
        openapi_router=Router("/schema", route_handlers=[], guards=[require_staff]),
        # Each route names its own requirement: health is public, callbacks carry their vendor's signature.
        components=Components(security_schemes={"bearer": SecurityScheme(type="http", scheme="bearer")}),
    )
