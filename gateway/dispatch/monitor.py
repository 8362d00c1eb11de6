"""Watches the queue depth: for the metrics, and so ingest can push back before the store is swamped."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from gateway import metrics
from gateway.models import ACTIVE_STATUSES, Status
from gateway.store.base import Store

__all__ = ("QueueMonitor",)

_log = logging.getLogger(__name__)
#: The states of a message on its way: waiting, being sent, or sent and awaiting its receipt.
_QUEUE = ACTIVE_STATUSES | {Status.SENDING, Status.ACCEPTED}


class QueueMonitor:
    """Counts messages by status every ``interval`` seconds.

    Args:
        store: The store to count.
        high_water: Waiting messages (queued, retrying, held) above which :attr:`overloaded` is true;
            ``0`` never.
        interval: Seconds between counts.
    """

    def __init__(self, store: Store, *, high_water: int, interval: float = 5.0) -> None:
        self._store = store
        self._high_water = high_water
        self._interval = interval
        self.backlog = 0
        self._task: asyncio.Task[None] | None = None

    @property
    def overloaded(self) -> bool:
        return 0 < self._high_water < self.backlog

    async def refresh(self) -> None:
        """Count the messages still on their way (not the finished history) and update the gauges."""
        counts = await self._store.count_by_status(_QUEUE)
        for status in _QUEUE:
            metrics.QUEUE_DEPTH.labels(status.value).set(counts.get(status, 0))
        self.backlog = sum(counts.get(status, 0) for status in ACTIVE_STATUSES)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="queue-monitor")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self.refresh()
            except Exception:
                _log.exception("queue count failed")
            await asyncio.sleep(self._interval)
