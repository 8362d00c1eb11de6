"""The store interface: one contract, a SQLite and a PostgreSQL backend behind it.

Only the dispatcher (and ingest, for the first state) changes a message's status, always through
:meth:`Store.transition`, which appends the matching timeline event in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import msgspec

from gateway.models import Attempt, MessageDetail, NewMessage, Status, StoredMessage
from gateway.store.admin_types import AuditEntry, AuditPage, FailureCount, WindowCount

__all__ = ("AddResult", "MessageFilter", "Page", "StaleTransition", "Store", "StoreUnavailable")


class StoreUnavailable(Exception):
    """The database cannot be reached or refused the write."""


class StaleTransition(Exception):
    """The message was not in the state the caller expected (someone else moved it)."""


class AddResult(msgspec.Struct, frozen=True):
    """The answer to :meth:`Store.add`."""

    message_id: str
    duplicate: bool


class MessageFilter(msgspec.Struct, frozen=True, kw_only=True):
    """Search criteria for the support API; ``None`` means "any"."""

    status: Status | None = None
    channel: str | None = None
    vendor: str | None = None
    campaign_id: str | None = None
    dispatch_id: str | None = None
    user_id: str | None = None
    phone: str | None = None
    email: str | None = None
    created_from: float | None = None
    created_to: float | None = None


class Page(msgspec.Struct, frozen=True):
    """One page of search results, newest first; ``next_cursor`` is ``None`` on the last page."""

    items: list[StoredMessage]
    next_cursor: str | None


class Store(Protocol):
    """Durable storage of messages, attempts and timeline events."""

    async def open(self) -> None:
        """Connect and apply pending migrations."""
        ...

    async def close(self) -> None:
        """Flush pending writes and disconnect."""
        ...

    async def ping(self) -> bool:
        """Return whether the database answers."""
        ...

    async def add(self, new: NewMessage, *, idempotency_window: float) -> AddResult:
        """Store a new message durably (committed and fsync'd when this returns).

        If a message with the same idempotency key was added within ``idempotency_window`` seconds of
        ``new.created_at``, nothing is written and that message's id is returned with ``duplicate=True``.
        """
        ...

    async def claim(
        self, *, now: float, limit: int, lease: float, exclude_vendors: frozenset[str] = frozenset()
    ) -> list[StoredMessage]:
        """Atomically take up to ``limit`` due messages for sending, oldest due first.

        Due means: status in ``ACTIVE_STATUSES`` with ``next_attempt_at <= now``, or ``sending`` whose lease
        ran out (its worker died). Claimed messages move to ``sending`` with a lease until ``now + lease``;
        no two callers (threads, processes, machines) get the same message.
        """
        ...

    async def transition(
        self,
        message_id: str,
        status: Status,
        reason: str,
        *,
        now: float,
        expect: frozenset[Status] | None = None,
        attempt: Attempt | None = None,
        next_attempt_at: float | None = None,
        vendor_message_id: str | None = None,
        vendor_request: dict[str, object] | None = None,
    ) -> None:
        """Move a message to ``status`` and append the timeline event, in one transaction.

        Also records ``attempt`` (incrementing the attempt count) and sets the given fields when not ``None``.
        ``next_attempt_at`` is cleared unless given. Raises :class:`StaleTransition` when ``expect`` is
        given and the current status is not in it, and ``KeyError`` for an unknown id.
        """
        ...

    async def record_attempt(self, message_id: str, attempt: Attempt, reason: str, *, now: float) -> None:
        """Record an attempt that did not end the claim (an in-process retry follows).

        Appends the attempt (incrementing the attempt count) and a timeline event with the message's current
        status and ``reason``; the status and the lease are left as they are.
        """
        ...

    async def get(self, message_id: str) -> MessageDetail | None:
        """Return the message with its attempts and events, or ``None``."""
        ...

    async def search(self, criteria: MessageFilter, *, limit: int, cursor: str | None = None) -> Page:
        """Return matching messages newest first, ``limit`` at a time."""
        ...

    async def count_by_status(self) -> dict[Status, int]:
        """Return how many messages are in each status (statuses with none are left out)."""
        ...

    async def link_fallback(
        self, parent_id: str, child: NewMessage, reason: str, *, now: float, expect: frozenset[Status] | None = None
    ) -> None:
        """Add ``child`` and move ``parent_id`` to ``fallback`` pointing at it, in one transaction.

        A message falls back at most once: raises :class:`StaleTransition` (writing nothing) when the parent
        already has a fallback, or when ``expect`` is given and the parent is in another status; ``KeyError``
        for an unknown parent.
        """
        ...

    # Support console (issue 5): replay, statistics, audit log, retention and erasure.

    async def replay(self, message_ids: Sequence[str], reason: str, *, now: float) -> list[str]:
        """Move those of ``message_ids`` in a final state back to ``queued``, due ``now``, in one transaction.

        Each moved message gets a timeline event with ``reason`` and ``replayed_at = now``, so its retry budget
        starts again. Returns the ids moved; unknown ids and messages not in a final state are left out.
        """
        ...

    async def window_counts(self, *, created_from: float, created_to: float) -> list[WindowCount]:
        """Count the messages created in ``[created_from, created_to)`` by status, channel and vendor."""
        ...

    async def failures_by_code(self, *, since: float, until: float, limit: int) -> list[FailureCount]:
        """Count failed attempts started in ``[since, until)`` by vendor and vendor code, most frequent first."""
        ...

    async def add_audit(self, entry: AuditEntry) -> None:
        """Append ``entry`` to the audit log (committed when this returns)."""
        ...

    async def audit_log(self, *, limit: int, cursor: str | None = None) -> AuditPage:
        """Return audit entries newest first, ``limit`` at a time; ``ValueError`` for a foreign cursor."""
        ...

    async def purge(self, *, created_before: float, limit: int) -> int:
        """Delete up to ``limit`` of the oldest messages created before ``created_before``; return how many.

        Everything attached to a message (attempts, events, receipts, idempotency keys) goes with it.
        """
        ...

    async def erase_user(self, user_id: str, reason: str, *, now: float) -> int:
        """Erase the personal data of every message of ``user_id``; return how many messages that was.

        Phone numbers and emails become ``NULL``; content, subject, text, buttons, the raw body and the vendor
        request body are replaced by an erased marker. Status, channel, vendor, Braze ids, attempts and counts
        stay, so statistics are unchanged. A message still waiting to be sent is suppressed. Each message gets
        a timeline event with ``reason``.
        """
        ...
