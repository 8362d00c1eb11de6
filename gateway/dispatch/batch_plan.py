"""Which of a route's batchable messages share requests, and which go alone (docs/ARCHITECTURE.md, "Batches")."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Hashable

from adapters.batch import BatchAdapter, BatchItem, DistinctRecipients
from adapters.contract import OutboundMessage
from gateway.dispatch.attempts import send_key
from gateway.dispatch.batching import chunks
from gateway.dispatch.uncertain import owes_lookup
from gateway.dispatch.vendor_images import VendorImages
from gateway.dispatch.wiring import Wiring
from gateway.models import StoredMessage

__all__ = ("Alone", "BatchPlanner", "Member")

_log = logging.getLogger(__name__)

#: A message that goes alone, with the message as it goes (``None``: the whole usual path, its image included).
Alone = tuple[StoredMessage, OutboundMessage | None]


class Member:
    """One message of a batch request: its claim, the message as it goes, and its attempts so far."""

    __slots__ = ("_sent", "item", "message", "number", "record")

    def __init__(self, record: StoredMessage, message: OutboundMessage) -> None:
        self.record = record
        self.message = message
        self.item = BatchItem(message=message, message_id=record.id, send_key=send_key(record))
        self.number = record.attempt_count
        self._sent: dict[str, object] | None = None

    def sent(self, adapter: BatchAdapter) -> dict[str, object]:
        """The request kept with this message: the batch request built for it alone, secrets redacted.

        Not the whole batch: copying every recipient onto every message would store a batch n times over.
        """
        if self._sent is None:
            self._sent = adapter.build_batch([self.item]).redacted()
        return self._sent


class BatchPlanner:
    """Groups a route's messages into batch requests.

    Args:
        wiring: The store and the lookups.
        images: Resolves kakao images first: a batch key covers the content as sent.
    """

    def __init__(self, wiring: Wiring, images: VendorImages) -> None:
        self._wiring = wiring
        self._images = images

    async def plan(
        self, route: tuple[str, str], adapter: BatchAdapter, size: int, records: list[StoredMessage]
    ) -> tuple[list[Alone], list[list[Member]]]:
        """Which messages go alone and which share requests of at most ``size``."""
        alone: list[Alone] = []
        records, looked_up = await self._without_pending_lookups(route, records)
        alone.extend((record, None) for record in looked_up)
        messages: list[OutboundMessage | BaseException] = [record.message for record in records]
        imaged = [index for index, record in enumerate(records) if self._images.needed(record)]
        if imaged:
            found = await asyncio.gather(
                *(self._images.message_as_sent(records[i]) for i in imaged), return_exceptions=True
            )
            for index, message in zip(imaged, found, strict=True):
                messages[index] = message
        keyed: list[tuple[Hashable, Member]] = []
        for record, message in zip(records, messages, strict=True):
            if isinstance(message, BaseException):  # tried again, and counted against it alone, on the usual path
                alone.append((record, None))
                continue
            key = _batch_key(adapter, message)
            if key is None:
                alone.append((record, message))
            else:
                keyed.append((key, Member(record, message)))
        batches: list[list[Member]] = []
        for members in chunks(keyed, size, _recipient_of(adapter)):
            if len(members) == 1:
                alone.append((members[0].record, members[0].message))
            else:
                batches.append(members)
        return alone, batches

    async def _without_pending_lookups(
        self, route: tuple[str, str], records: list[StoredMessage]
    ) -> tuple[list[StoredMessage], list[StoredMessage]]:
        """Set apart the messages whose last attempt is an unsettled uncertain one: each is looked up alone first.

        At a product with a lookup, a message tried before may owe one; its last attempt says (:func:`owes_lookup`,
        one read for all of them). Should the read fail, every message tried before goes alone, where its
        attempts are read in full.
        """
        retried = [record.id for record in records if record.attempt_count] if route in self._wiring.lookups else []
        if not retried:
            return records, []
        try:
            last = await self._wiring.store.last_attempts(retried)
        except Exception:
            _log.warning("could not read the last attempts of a batch", exc_info=True, extra={"count": len(retried)})
            return [r for r in records if not r.attempt_count], [r for r in records if r.attempt_count]
        owing = {message_id for message_id, attempt in last.items() if owes_lookup(attempt)}
        return [r for r in records if r.id not in owing], [r for r in records if r.id in owing]


def _batch_key(adapter: BatchAdapter, message: OutboundMessage) -> Hashable | None:
    """The message's batch key; ``None`` (it goes alone) when the adapter cannot tell."""
    try:
        return adapter.batch_key(message)
    except Exception:  # the usual path builds it alone and counts the failure against it
        return None


def _recipient_of(adapter: BatchAdapter) -> Callable[[Member], Hashable] | None:
    """Who a message goes to, where the vendor must not see a recipient twice in one request (SendGrid refuses it,
    NHN does not say what it does); ``None`` where it may."""
    if not isinstance(adapter, DistinctRecipients):
        return None
    return lambda member: adapter.recipient_key(member.message)
