"""Retention: messages older than ``GATEWAY_RETENTION_DAYS`` are deleted with everything attached.

Refused ingests (issue 11) are kept for the same time and purged the same way.

:class:`RetentionPurge` deletes a bounded batch per :meth:`~RetentionPurge.run_once`, so a large backlog never
holds the store in one long transaction; it runs daily beside the dispatcher and from ``gateway purge``.

See docs/ARCHITECTURE.md, "Support API and console".
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from gateway.store.base import Store

__all__ = ("DAY", "RetentionPurge")

DAY = 24 * 3600.0
_log = logging.getLogger(__name__)


class RetentionPurge:
    """Deletes expired messages, oldest first; a periodic duty of the dispatcher (once a day).

    Args:
        store: Where the messages are.
        retention_days: Days a message is kept after its creation.
        clock: Current POSIX time.
        batch_size: Messages deleted per transaction.
        interval: Seconds between passes once nothing expired is left.
    """

    name = "retention purge"

    def __init__(
        self,
        store: Store,
        retention_days: int,
        *,
        clock: Callable[[], float] = time.time,
        batch_size: int = 500,
        interval: float = DAY,
    ) -> None:
        self._store = store
        self._retention = retention_days * DAY
        self._clock = clock
        self.batch_size = batch_size
        self.interval = interval

    @property
    def cutoff(self) -> float:
        """Messages created before this are expired."""
        return self._clock() - self._retention

    async def run_once(self) -> int:
        """Delete one batch of expired messages and one of expired refusals; return how many rows in all."""
        cutoff = self.cutoff
        deleted = await self._store.purge(created_before=cutoff, limit=self.batch_size)
        if deleted:
            _log.info("expired messages purged", extra={"count": deleted})
        refusals = await self._store.purge_refusals(created_before=cutoff, limit=self.batch_size)
        if refusals:
            _log.info("expired refusals purged", extra={"count": refusals})
        return deleted + refusals

    async def run_to_end(self) -> int:
        """Delete every expired message and refusal, batch by batch; return how many."""
        total = 0
        while deleted := await self.run_once():
            total += deleted
        return total
