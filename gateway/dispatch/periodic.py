"""Periodic work that runs beside the dispatcher's claim loop: applying receipts, sweeps, polls, reports.

A duty does one bounded batch per :meth:`Duty.run_once`. The runner repeats it at once while batches come back
full (a backlog is worked off without waiting) and otherwise waits the duty's interval.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

__all__ = ("Duty", "run_periodically")

_log = logging.getLogger(__name__)


class Duty(Protocol):
    """One kind of periodic work.

    Attributes:
        name: Names the duty in logs and task names.
        interval: Seconds to wait after a batch that was not full.
        batch_size: The most one :meth:`run_once` does; a full batch means more may be waiting.
    """

    name: str
    interval: float
    batch_size: int

    async def run_once(self) -> int:
        """Do one batch and return how many items it held."""
        ...


async def run_periodically(duty: Duty, *, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
    """Run ``duty`` until cancelled; an error is logged and the duty carries on after its interval."""
    while True:
        try:
            done = await duty.run_once()
        except Exception:
            _log.exception("%s failed", duty.name)
            done = 0
        if done < duty.batch_size:
            await sleep(duty.interval)
