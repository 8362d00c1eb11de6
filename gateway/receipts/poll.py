"""NHN Email results: NHN sends no delivery webhook for email, so accepted NHN emails are polled.

Every ``GATEWAY_NHN_EMAIL_POLL_INTERVAL`` seconds each accepted NHN email is looked up in NHN's mail list by the
request id of its acceptance; each status found is stored as a receipt (one per mail and status, so repeated
polls store nothing twice) and applied by the dispatcher like a callback's. Polling stops when the message
ends: delivered, failed, or ``unknown`` after the receipt timeout.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import httpx

from adapters.nhn.email import NhnEmailAdapter, parse_result_query
from gateway.models import Receipt, StoredMessage
from gateway.receipts.intake import store_receipts
from gateway.store.base import Store

__all__ = ("NhnEmailPoller",)

_log = logging.getLogger(__name__)
#: How far before our record of the send NHN's send time may lie (clocks differ) when no request id is known.
_CLOCK_SLACK = 600.0


class NhnEmailPoller:
    """Polls NHN Email for the results of accepted emails; a :class:`~gateway.dispatch.periodic.Duty`.

    Args:
        store: Where the messages and receipts are.
        client: The shared vendor HTTP client.
        adapter: Builds NHN's mail list query.
        interval: Seconds between two polls of one message.
        clock: Current POSIX time.
        batch_size: Messages polled per pass.
        concurrency: Queries in flight at once.
    """

    name = "NHN Email result poll"

    def __init__(
        self,
        store: Store,
        client: httpx.AsyncClient,
        adapter: NhnEmailAdapter,
        *,
        interval: float,
        clock: Callable[[], float] = time.time,
        batch_size: int = 100,
        concurrency: int = 8,
    ) -> None:
        self._store = store
        self._client = client
        self._adapter = adapter
        self._clock = clock
        self._slots = asyncio.Semaphore(concurrency)
        self.interval = interval
        self.batch_size = batch_size

    async def run_once(self) -> int:
        """Poll the messages that are due; return how many were polled."""
        due = await self._store.claim_result_polls(now=self._clock(), interval=self.interval, limit=self.batch_size)
        found = await asyncio.gather(*(self._poll(record) for record in due))
        receipts = [receipt for results in found for receipt in results]
        if receipts:
            await store_receipts(self._store, receipts, now=self._clock())
        return len(due)

    async def _poll(self, record: StoredMessage) -> list[Receipt]:
        """The receipts NHN's mail list has for one message; none when the query fails (it is polled again)."""
        request = self._adapter.build_result_query(
            request_id=record.vendor_message_id,
            message_id=record.id,
            since=record.created_at - _CLOCK_SLACK,
            until=self._clock(),
        )
        try:
            async with self._slots:
                response = await self._client.request(request.method, request.url, headers=request.headers)
            return parse_result_query(response.content)
        except (httpx.HTTPError, ValueError) as exc:
            _log.warning("NHN Email result poll failed: %s", type(exc).__name__, extra={"message_id": record.id})
            return []
