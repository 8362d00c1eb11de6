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
from litestar.openapi.plugins import JsonRenderPlugin, YamlRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme

from adapters.base import HTTP_LIMITS
from adapters.emulator import EmulatorTransport
from adapters.registry import Runtime, build_runtime
from adapters.transport import network_transport
from gateway.api.admin import ADMIN_HANDLERS
from gateway.api.auth import require_staff
from gateway.api.callbacks import callback_router
from gateway.api.campaigns import CAMPAIGN_HANDLERS
from gateway.api.deps import DEPENDENCIES
from gateway.api.health import healthz, healthz_head, metrics_endpoint, readyz, root
from gateway.api.ingest import receive_braze_message
from gateway.api.ingest_asgi import GatewayApp
from gateway.api.problems import (
    Problem,
    handle_gateway_error,
    handle_http_exception,
    handle_problem,
    handle_unexpected,
)
from gateway.console import console_handlers, console_templates
from gateway.content import ContentService, get_content
from gateway.dispatch.dispatcher import Dispatcher
from gateway.dispatch.monitor import QueueMonitor
from gateway.errors import GatewayError
from gateway.feedback.transport import with_braze
from gateway.images.uploads import ImageUploads
from gateway.log import configure_logging
from gateway.normalise.inbound import policy_from_settings
from gateway.receipts.duties import receipt_duties
from gateway.receipts.intake import CallbackIntake, callback_auth
from gateway.retention import RetentionPurge
from gateway.settings import Settings, load_settings
from gateway.startup import Role, summary
from gateway.store import PostgresStore, open_store
from gateway.store.base import Store

__all__ = ("content_service", "create_app", "http_client", "open_runtime", "serve_app")

_log = logging.getLogger(__name__)
#: Vendor calls: fail fast on connect, allow a slow vendor 10 s to answer.
_TIMEOUT = httpx.Timeout(10.0, connect=3.0)


def http_client(transport: httpx.AsyncBaseTransport | None, timeout: httpx.Timeout = _TIMEOUT) -> httpx.AsyncClient:
    """The one shared client for every vendor call (and, with its own timeout, for Connected Content upstreams)."""
    return httpx.AsyncClient(transport=transport, timeout=timeout, limits=HTTP_LIMITS)


def content_service(settings: Settings, clock: Callable[[], float]) -> ContentService:
    """The Connected Content cache; its upstreams are the customer's own APIs, never vendors or emulators."""
    return ContentService(
        settings.content_sources,
        http_client(None, httpx.Timeout(settings.content_timeout)),
        ttl=settings.content_ttl,
        timeout=settings.content_timeout,
        max_bytes=settings.content_max_bytes,
        list_path=settings.content_list_path,
        cache_bytes=settings.content_cache_bytes,
        clock=clock,
    )


@asynccontextmanager
async def open_runtime(
    settings: Settings,
    *,
    store: Store | None = None,
    clock: Callable[[], float] = time.time,
    role: Role = "serve",
    dispatcher_runs: bool = True,
) -> AsyncIterator[tuple[Store, Runtime, Dispatcher]]:
    """Open the store and the vendor client and build the dispatcher; closes all of it on exit.

    Logs the start-up summary (``role``: what this process is; ``dispatcher_runs``: whether it sends) and the
    configuration's warnings first.
    """
    _log.info(summary(settings, role, dispatcher=dispatcher_runs))
    for warning in settings.warnings(http=role == "serve"):
        _log.warning(warning)
    store = store or open_store(settings.database_url)
    await store.open()
    runtime = build_runtime(settings)
    client = http_client(with_braze(runtime.transport, settings) or network_transport(settings.http_transport))
    fetch_client = image_fetch_client(runtime.transport)
    images = ImageUploads(store, runtime.kakao_images, client, fetch_client, clock=clock)
    dispatcher = Dispatcher(
        store,
        runtime.adapters,
        client,
        settings,
        policy_from_settings(settings),
        clock=clock,
        batch_size=settings.dispatch_batch,
        lookups=runtime.lookups,
        images=images if runtime.kakao_images else None,
        # Processes on one PostgreSQL share each vendor product's rate limit and breaker; SQLite has one process.
        gate_db=store if isinstance(store, PostgresStore) else None,
    )
    dispatcher.attach(*receipt_duties(settings, store, runtime, client, dispatcher, clock=clock))
    dispatcher.attach(RetentionPurge(store, settings.retention_days, clock=clock))
    try:
        yield store, runtime, dispatcher
    finally:
        await dispatcher.stop()
        await fetch_client.aclose()
        await client.aclose()
        await store.close()


def image_fetch_client(transport: httpx.AsyncBaseTransport | None) -> httpx.AsyncClient:
    """The client that fetches callers' kakao image URLs (gateway/images/fetch.py).

    Its own, on httpcore's transport: the fetch connects to the address it vetted and names the host for TLS
    (``sni_hostname``), which the aiohttp transport of the vendor client does not honour. A full sandbox (every
    product emulated) reaches no network, so there the emulators' transport refuses the fetch and the image is
    left out with a note.
    """
    sandbox = isinstance(transport, EmulatorTransport) and not transport.reaches_network
    return httpx.AsyncClient(
        transport=transport if sandbox else httpx.AsyncHTTPTransport(), timeout=_TIMEOUT, follow_redirects=False
    )


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
        runtime_of = open_runtime(settings, store=store, clock=clock, dispatcher_runs=run_dispatcher)
        async with runtime_of as (opened, runtime, dispatcher):
            monitor = QueueMonitor(opened, high_water=settings.queue_high_water)
            app.state.update(store=opened, runtime=runtime, dispatcher=dispatcher, monitor=monitor)
            app.state.intake = CallbackIntake(opened, callback_auth(settings, runtime), clock=clock)
            app.state.content = content_service(settings, clock)
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
                await app.state.content.aclose()

    return GatewayApp(
        route_handlers=[
            receive_braze_message,
            get_content,
            callback_router(settings.callback_max_body_bytes),
            *ADMIN_HANDLERS,
            *CAMPAIGN_HANDLERS,
            *console_handlers(settings),
            healthz,
            healthz_head,
            root,
            readyz,
            metrics_endpoint,
        ],
        lifespan=[lifespan],
        dependencies=DEPENDENCIES,
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
            GatewayError: handle_gateway_error,
            HTTPException: handle_http_exception,
            Exception: handle_unexpected,
        },
        request_max_body_size=settings.max_body_bytes,
        template_config=console_templates(),
        # Logging is configured once by the CLI (JSON lines without personal data), not by Litestar.
        logging_config=None,
        openapi_config=_openapi_config(),
    )


def serve_app() -> Litestar:
    """The app of ``gateway serve``, for uvicorn to build in each worker process.

    A worker process is started afresh (not forked from the CLI), so it sets up the JSON logs itself: without
    this its log lines (and its start-up summary) would be lost.
    """
    settings = load_settings()
    configure_logging(settings.log_level)
    return create_app(settings)


def _openapi_config() -> OpenAPIConfig:
    """OpenAPI at ``/schema``, for staff only: nothing but health, readiness and metrics is public.

    Only the JSON and YAML documents: Litestar's UI pages load their scripts from public CDNs. People read the
    operations in the console (``/admin/api``), which also serves both documents to a signed-in session.
    """
    return OpenAPIConfig(
        title="Vendor webhook gateway",
        version="0.1.0",
        path="/schema",
        # Litestar's own schema pages are not API operations: left out of the document (they were all "Handler").
        openapi_router=Router("/schema", route_handlers=[], guards=[require_staff], include_in_schema=False),
        render_plugins=[JsonRenderPlugin(), YamlRenderPlugin()],
        # Each route names its own requirement: health is public, callbacks carry their vendor's signature.
        components=Components(security_schemes={"bearer": SecurityScheme(type="http", scheme="bearer")}),
    )
