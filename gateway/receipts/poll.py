"""Polled results: a vendor product without a delivery callback has its accepted messages looked up.

Each polled product (its spec's ``poll``) gets one :class:`ResultPoller`. Every interval each accepted message
of that product is looked up; each status found is stored as a receipt (one per message and status, so repeated
polls store nothing twice) and applied by the dispatcher like a callback's. Polling stops when the message
ends: delivered, failed, or ``unknown`` after the receipt timeout.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import httpx

from adapters.spec import Poll, PollTarget
from gateway.models import Receipt, StoredMessage
from gateway.receipts.intake import store_receipts
from gateway.store.base import Store

__all__ = ("ResultPoller",)

_log = logging.getLogger(__name__)


class ResultPoller:
    """Polls one product for the results of its accepted messages; a :class:`~gateway.dispatch.periodic.Duty`.

    Args:
        store: Where the messages and receipts are.
        client: The shared vendor HTTP client.
        vendor: The vendor whose messages are polled.
        channel: The channel of the polled product.
        poll: The product's lookup of one message.
        interval: Seconds between two polls of one message.
        clock: Current POSIX time.
        batch_size: Messages polled per pass.
        concurrency: Queries in flight at once.
    """

    def __init__(
        self,
        store: Store,
        client: httpx.AsyncClient,
        *,
        vendor: str,
        channel: str,
        poll: Poll,
        interval: float,
        clock: Callable[[], float] = time.time,
        batch_size: int = 100,
        concurrency: int = 8,
    ) -> None:
        self._store = store
        self._client = client
        self.vendor = vendor
        self.channel = channel
        self._poll_one = poll
        self._clock = clock
        self._slots = asyncio.Semaphore(concurrency)
        self.name = f"{vendor} {channel} result poll"
        self.interval = interval
        self.batch_size = batch_size

    async def run_once(self) -> int:
        """Poll the messages that are due; return how many were polled."""
        due = await self._store.claim_result_polls(
            vendor=self.vendor,
            channel=self.channel,
            now=self._clock(),
            interval=self.interval,
            limit=self.batch_size,
        )
        found = await asyncio.gather(*(self._poll(record) for record in due))
        receipts = [receipt for results in found for receipt in results]
        if receipts:
            await store_receipts(self._store, receipts, now=self._clock())
        return len(due)

    async def _poll(self, record: StoredMessage) -> list[Receipt]:
        """The receipts the vendor has for one message; none when the lookup fails (it is polled again)."""
        target = PollTarget(
            message_id=record.id,
            vendor_message_id=record.vendor_message_id,
            created_at=record.created_at,
            now=self._clock(),
        )
        try:
            async with self._slots:
                return await self._poll_one(self._client, target)
        except (httpx.HTTPError, ValueError) as exc:
            _log.warning(
                "result poll failed: %s", type(exc).__name__, extra={"message_id": record.id, "vendor": self.vendor}
            )
            return []
