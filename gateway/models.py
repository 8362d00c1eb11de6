"""The gateway's domain types: stored messages, attempts, timelines and receipts (the types it shares with the
adapters live in :mod:`adapters.contract` and are re-exported here).

Everything here is a plain msgspec Struct so it can be stored as JSON and encoded without glue code.
Timestamps are POSIX seconds (``float``) in UTC throughout.
"""

from __future__ import annotations

import enum
import os
import time
from typing import Any, Literal

import msgspec

from adapters.contract import BrazeContext, Button, Channel, OutboundMessage, Receipt, ReceiptOutcome

__all__ = (
    "ACTIVE_STATUSES",
    "FINAL_STATUSES",
    "Attempt",
    "BrazeContext",
    "Button",
    "Channel",
    "Event",
    "MessageDetail",
    "NewMessage",
    "OutboundMessage",
    "Receipt",
    "ReceiptOutcome",
    "ReceiptState",
    "Status",
    "StoredMessage",
    "StoredReceipt",
    "new_message_id",
)

#: ``error``: the gateway itself failed while processing the message (an internal error, counted like a retry).
AttemptOutcome = Literal["accepted", "retryable", "permanent", "error"]
#: What became of a stored receipt: waiting for its message, moved it, noted as progress, arrived after the
#: message's final state, or never matched a message.
ReceiptState = Literal["pending", "applied", "progress", "late", "unmatched"]


class Status(enum.StrEnum):
    """Lifecycle states of a message (docs/ARCHITECTURE.md, "Delivery lifecycle")."""

    QUEUED = "queued"
    SENDING = "sending"
    ACCEPTED = "accepted"
    DELIVERED = "delivered"
    FAILED = "failed"
    RETRYING = "retrying"
    HELD = "held"
    SUPPRESSED = "suppressed"
    DEAD = "dead"
    FALLBACK = "fallback"
    UNKNOWN = "unknown"


#: States the dispatcher picks up when their ``next_attempt_at`` is due.
ACTIVE_STATUSES = frozenset({Status.QUEUED, Status.RETRYING, Status.HELD})
#: States nothing moves a message out of (except a staff replay).
FINAL_STATUSES = frozenset(
    {Status.DELIVERED, Status.FAILED, Status.SUPPRESSED, Status.DEAD, Status.FALLBACK, Status.UNKNOWN}
)


def new_message_id() -> str:
    """Return a new message id: 12 hex digits of milliseconds, then 16 random hex digits.

    Ids sort by creation time, which keeps the primary-key index append-only and pagination simple.
    """
    return f"{int(time.time() * 1000):012x}{os.urandom(8).hex()}"


class NewMessage(msgspec.Struct, frozen=True, kw_only=True):
    """A message about to be stored by ingest (or created by a fallback)."""

    id: str
    idempotency_key: str
    vendor: str
    message: OutboundMessage
    #: The request body as received, kept for support (``b""`` for a message the gateway created).
    raw_body: bytes
    status: Status
    next_attempt_at: float
    created_at: float
    #: Why the message starts in ``status`` (the first timeline event).
    reason: str = "received"
    parent_id: str | None = None


class Attempt(msgspec.Struct, frozen=True, kw_only=True):
    """One call to a vendor."""

    number: int
    started_at: float
    duration_ms: float
    outcome: AttemptOutcome
    http_status: int | None = None
    vendor_code: str | None = None
    detail: str = ""


class Event(msgspec.Struct, frozen=True, kw_only=True):
    """One transition on a message's timeline."""

    at: float
    status: Status
    reason: str


class StoredMessage(msgspec.Struct, frozen=True, kw_only=True):
    """A message as the store holds it."""

    id: str
    idempotency_key: str
    vendor: str
    status: Status
    message: OutboundMessage
    created_at: float
    updated_at: float
    next_attempt_at: float | None
    attempt_count: int
    vendor_message_id: str | None = None
    #: The vendor request as last sent, secrets redacted: ``{"method", "url", "headers", "body"}``.
    vendor_request: dict[str, Any] | None = None
    parent_id: str | None = None
    child_id: str | None = None
    #: When staff last replayed the message; its retry budget counts from here rather than ``created_at``.
    replayed_at: float | None = None
    #: When a call to a vendor that honours no idempotency key began and its answer was not yet recorded; on an
    #: ``unknown`` message: that call's outcome is uncertain (its process stopped mid-send), see :meth:`uncertain`.
    send_started_at: float | None = None

    @property
    def uncertain(self) -> bool:
        """Whether a send of this message may have reached the vendor without the gateway knowing.

        True for a message claimed again after its process stopped mid-send, and for one that ended ``unknown``
        for that reason (the vendor's lookup API is what can still tell).
        """
        return self.send_started_at is not None

    @property
    def budget_start(self) -> float:
        """Where the retry budget counts from: the last replay, else the creation."""
        return self.created_at if self.replayed_at is None else self.replayed_at

    def past_budget(self, at: float, budget: float) -> bool:
        """Whether a try at ``at`` would fall after ``budget`` seconds from :attr:`budget_start`."""
        return at > self.budget_start + budget

    @property
    def channel(self) -> Channel:
        return self.message.channel


class MessageDetail(msgspec.Struct, frozen=True, kw_only=True):
    """A message with everything that happened to it."""

    record: StoredMessage
    raw_body: bytes
    attempts: tuple[Attempt, ...]
    events: tuple[Event, ...]
    receipts: tuple[StoredReceipt, ...] = ()


class StoredReceipt(msgspec.Struct, frozen=True, kw_only=True):
    """A receipt as the store keeps it, with what became of it."""

    id: int
    receipt: Receipt
    received_at: float
    state: ReceiptState = "pending"
    #: The message it was matched to (``None`` while pending or when it never matched).
    message_id: str | None = None
    settled_at: float | None = None
    #: How often matching it to a message was tried and deferred.
    tries: int = 0
