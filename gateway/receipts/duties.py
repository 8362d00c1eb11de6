"""The periodic work receipts need, built for the dispatcher to run beside its claim loop."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from adapters import registry
from adapters.registry import Runtime
from gateway.dispatch.dispatcher import Dispatcher
from gateway.dispatch.periodic import Duty
from gateway.dispatch.receipts import ReceiptApplier
from gateway.dispatch.sweep import ReceiptSweep
from gateway.feedback.braze import BrazeReporter
from gateway.receipts.intake import CallbackIntake, callback_auth
from gateway.receipts.poll import ResultPoller
from gateway.receipts.sandbox import SandboxCallbacks
from gateway.settings import Settings
from gateway.store.base import Store

__all__ = ("receipt_duties",)


def receipt_duties(
    settings: Settings,
    store: Store,
    runtime: Runtime,
    client: httpx.AsyncClient,
    dispatcher: Dispatcher,
    *,
    clock: Callable[[], float] = time.time,
) -> list[Duty]:
    """The receipt applier and sweep, plus what the configuration calls for.

    A result poller for each configured product whose results are polled, Braze feedback when
    ``GATEWAY_BRAZE_*`` is set, and the emulators' callbacks in sandbox mode.
    """
    duties: list[Duty] = [
        ReceiptApplier(store, dispatcher.fall_back, settings, clock=clock),
        ReceiptSweep(store, settings, clock=clock),
    ]
    for spec in registry.VENDORS:
        for product in spec.products:
            config = settings.products.get(product.name)
            if product.poll is None or config is None:
                continue
            for channel in product.channels:
                poller = ResultPoller(
                    store,
                    client,
                    vendor=spec.name,
                    channel=channel,
                    poll=product.poll(config),
                    interval=settings.poll_intervals[product.name],
                    clock=clock,
                )
                duties.append(poller)
    if settings.braze_rest_url and settings.braze_api_key:
        duties.append(
            BrazeReporter(store, client, rest_url=settings.braze_rest_url, api_key=settings.braze_api_key, clock=clock)
        )
    if settings.sandbox:
        auth = callback_auth(settings, runtime)
        duties.append(SandboxCallbacks(runtime.emulators, CallbackIntake(store, auth, clock=clock), auth))
    return duties
