"""Many messages in one vendor request: the vendors' batch APIs (issue 14, docs/ARCHITECTURE.md, "Batches").

A vendor whose API takes several recipients or messages per request offers it through a :class:`BatchAdapter`:
the dispatcher groups messages whose :meth:`~BatchAdapter.batch_key` is equal, up to
:attr:`~BatchAdapter.max_batch`, builds one request for them and settles each message by its own result in the
answer. Each message keeps its own id (the vendor's correlation field) and its own attempt history; a batch
retried after a partial failure carries only the messages that were not accepted.

A batch request is never sent again as the same request with another membership, so a vendor idempotency key
sent with it protects only a retry of that very batch: the dispatcher marks every message of a batch as sent
before the call, and a crash during it is settled by the vendor's lookup, like a single uncertain send.
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Sequence
from typing import ClassVar, Protocol, runtime_checkable

import httpx
import msgspec

from adapters.base import Adapter, VendorRequest, VendorResponse, call
from adapters.contract import OutboundMessage, Outcome

__all__ = ("BatchAdapter", "BatchItem", "BatchResult", "DistinctRecipients", "send_batch")


class BatchItem(msgspec.Struct, frozen=True, kw_only=True):
    """One message of a batch request.

    Args:
        message: The normalised message (as sent: a kakao image already the vendor's).
        message_id: Our id, put in the vendor's per-recipient correlation field.
        send_key: The message's own idempotency key (stable across retries of one send, new after a replay).
    """

    message: OutboundMessage
    message_id: str
    send_key: str


@runtime_checkable
class BatchAdapter(Adapter, Protocol):
    """An adapter whose vendor takes many messages in one request."""

    #: Most messages one request may carry: the vendor's documented limit (docs/vendors.md).
    max_batch: ClassVar[int]

    def batch_key(self, message: OutboundMessage) -> Hashable | None:
        """What messages must share to go in one request (``None``: this message always goes alone).

        A vendor that takes each message with its own content (Solapi send-many) answers a constant; one that
        takes a recipient list for one content (NHN ``recipientList``, SendGrid personalizations) answers the
        content, everything of the request but the recipient.
        """
        ...

    def build_batch(self, items: Sequence[BatchItem]) -> VendorRequest:
        """Build one request for ``items`` (1 to :attr:`max_batch` of them, all with equal batch keys)."""
        ...

    def classify_batch(self, response: VendorResponse, items: Sequence[BatchItem]) -> list[Outcome]:
        """Each item's outcome, in the order of ``items``.

        A failure of the whole request gives every item the same outcome. An item a successful answer does not
        mention is :class:`~adapters.contract.Uncertain`: the vendor may have it, and its lookup decides.
        """
        ...


@runtime_checkable
class DistinctRecipients(Protocol):
    """A batch adapter whose vendor refuses, or may drop, a request that names one recipient twice.

    SendGrid answers 400 for the whole request when an address comes twice in its personalizations; NHN does not
    say what it does with a repeated number in one ``recipientList``. Two messages with equal batch keys to one
    recipient (the same campaign sent twice) then go in separate requests (the dispatcher's
    ``gateway/dispatch/batching.py`` ``chunks``).
    """

    def recipient_key(self, message: OutboundMessage) -> Hashable:
        """Who ``message`` goes to, as the vendor compares recipients."""
        ...


class BatchResult(msgspec.Struct, frozen=True):
    """The outcome of one :func:`send_batch`: one outcome per item, in order, with what the attempt log needs."""

    outcomes: tuple[Outcome, ...]
    http_status: int | None
    duration_ms: float


async def send_batch(
    client: httpx.AsyncClient, adapter: BatchAdapter, request: VendorRequest, items: Sequence[BatchItem]
) -> BatchResult:
    """Send a batch request and classify each item's result (a call that got no answer: the same for all)."""
    started = time.perf_counter()
    answer = await call(client, request)
    if isinstance(answer, VendorResponse):
        outcomes = tuple(adapter.classify_batch(answer, items))
        if len(outcomes) != len(items):
            raise ValueError(f"{type(adapter).__name__} classified {len(outcomes)} of {len(items)} items")
        status: int | None = answer.status
    else:
        outcomes, status = (answer,) * len(items), None
    return BatchResult(outcomes, status, round((time.perf_counter() - started) * 1000, 3))
