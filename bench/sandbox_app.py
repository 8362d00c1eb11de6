"""The gateway as benchmarks serve it: ``gateway.app.create_app`` with its sandbox emulators tuned at start.

uvicorn imports this module (``sandbox_app:create_sandbox_app``, with ``--app-dir bench``); the settings come from
``GATEWAY_*`` variables as usual, and two more variables of the benchmarks' own set the emulators up:

- ``BENCH_EMULATOR_LATENCY``: seconds every emulator waits before answering (a vendor's network and processing
  time; default 0);
- ``BENCH_EMULATOR_LOG``: ``keep`` (default) or ``trim``: an emulator keeps the latest requests it received
  and what it sent, for tests and lookups (up to 100,000 each); ``trim`` forgets them every second
  (``Emulator.trim``), so a long run measures the gateway's memory and not the emulators' bounded logs.

The dispatcher is started after the emulators are tuned, so no message is sent to an untuned emulator.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Mapping

from litestar import Litestar

from adapters.emulator import Emulator
from gateway.app import create_app

__all__ = ("create_sandbox_app",)

_TRIM_INTERVAL_S = 1.0


def create_sandbox_app() -> Litestar:
    """The gateway from the environment's settings, with the emulators tuned before its dispatcher starts."""
    app = create_app(start_dispatcher=False)
    app.on_startup.append(_tune_and_start)
    app.on_shutdown.append(_stop_trimming)
    return app


async def _tune_and_start(app: Litestar) -> None:
    emulators = app.state.runtime.emulators
    latency = float(os.environ.get("BENCH_EMULATOR_LATENCY", "0"))
    for emulator in emulators.values():
        emulator.latency = latency
    log = os.environ.get("BENCH_EMULATOR_LOG", "keep")
    if log not in ("keep", "trim"):
        raise ValueError(f"BENCH_EMULATOR_LOG={log!r}: use keep or trim")
    app.state.trimmer = asyncio.create_task(_trim(emulators)) if log == "trim" else None
    if app.state.settings.dispatcher:
        await app.state.dispatcher.start()


async def _trim(emulators: Mapping[str, Emulator]) -> None:
    while True:
        await asyncio.sleep(_TRIM_INTERVAL_S)
        for emulator in emulators.values():
            emulator.trim()


async def _stop_trimming(app: Litestar) -> None:
    trimmer = app.state.get("trimmer")
    if trimmer is not None:
        trimmer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await trimmer
