"""The store interface: one contract, a SQLite and a PostgreSQL backend behind it.

Only the dispatcher (and ingest, for the first state) changes a message's status, always through
:meth:`Store.transition`, which appends the matching timeline event in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import msgspec

from gateway.models import (
    Attempt,
    MessageDetail,
    NewMessage,
    Receipt,
    ReceiptState,
    Status,
    StoredMessage,
    StoredReceipt,
)
from gateway.refusals import Refusal, RefusalPage
from gateway.store.types_admin import AuditEntry, AuditPage, FailureCount, WindowCount
from gateway.store.types_campaigns import CampaignData, CampaignKey, CampaignSummary

__all__ = (
    "AddResult",
    "AttemptEntry",
    "FeedbackItem",
    "MessageFilter",
    "Page",
    "Report",
    "Settlement",
    "StaleTransition",
    "Store",
    "StoreUnavailable",
    "Transition",
)


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


class Report(msgspec.Struct, frozen=True):
    """A final state to queue for Braze in the transaction that enters it; ``code`` is the vendor's code."""

    code: str | None = None


class Transition(msgspec.Struct, frozen=True, kw_only=True):
    """One message's move in :meth:`Store.transition_many`: what :meth:`Store.transition` takes, and a fallback.

    Attributes:
        fallback: With ``status`` ``fallback``: the LMS that replaces the message, added and linked both ways as
            :meth:`Store.link_fallback` does (and, like it, never for a message that already fell back).
    """

    message_id: str
    status: Status
    reason: str
    expect: frozenset[Status] | None = None
    attempt: Attempt | None = None
    next_attempt_at: float | None = None
    vendor_message_id: str | None = None
    vendor_request: dict[str, object] | None = None
    report: Report | None = None
    fallback: NewMessage | None = None


class AttemptEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One attempt for :meth:`Store.record_attempts`: what :meth:`Store.record_attempt` takes."""

    message_id: str
    attempt: Attempt
    reason: str
    vendor_request: dict[str, object] | None = None


class Settlement(msgspec.Struct, frozen=True, kw_only=True):
    """What a receipt did, for :meth:`Store.settle_receipts`.

    Attributes:
        state: The receipt's new state (anything but ``pending``).
        message_id: The message it was matched to.
        status: Move that message to this status (only from one of ``expect``).
        expect: The statuses ``status`` may be entered from.
        reason: A timeline event for the message (with ``status``, or its current status when ``status`` is
            ``None``); ``None`` adds no event.
        report: Queue the Braze report of (message, ``status``) in the same transaction.
        next_attempt_at: With ``status`` ``retrying``: when the dispatcher sends the message again.
    """

    state: ReceiptState
    message_id: str | None = None
    status: Status | None = None
    expect: frozenset[Status] | None = None
    reason: str | None = None
    report: Report | None = None
    next_attempt_at: float | None = None


class FeedbackItem(msgspec.Struct, frozen=True, kw_only=True):
    """A final state waiting to be reported to Braze, with the message it belongs to."""

    id: int
    state: Status
    code: str | None
    at: float
    record: StoredMessage


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
        self, *, now: float, limit: int, lease: float, exclude: frozenset[tuple[str, str]] = frozenset()
    ) -> list[StoredMessage]:
        """Atomically take up to ``limit`` due messages for sending, oldest due first.

        Messages of a ``(vendor, channel)`` in ``exclude`` (a paused vendor product) are left waiting.

        Due means: status in ``ACTIVE_STATUSES`` with ``next_attempt_at <= now``, or ``sending`` whose lease
        ran out (its worker died). Claimed messages move to ``sending`` with a lease until ``now + lease``;
        no two callers (threads, processes, machines) get the same message.
        """
        ...

    async def renew_leases(self, message_ids: Sequence[str], *, until: float) -> int:
        """Extend the lease of those of ``message_ids`` still ``sending`` to ``until``; return how many.

        The dispatcher's heartbeat: a live process keeps what it is sending, while the messages of a process
        that died are claimed again as soon as its short lease runs out.
        """
        ...

    async def begin_send(self, message_id: str, *, now: float) -> None:
        """Note that a call to the vendor is about to start (``send_started_at``), durably, before it starts.

        Used for vendors that honour no idempotency key. The next :meth:`record_attempt`, :meth:`transition` or
        :meth:`link_fallback` clears it, except a transition to ``unknown``, which keeps it to say why.
        """
        ...

    async def begin_send_many(self, message_ids: Sequence[str], *, now: float) -> None:
        """:meth:`begin_send` for every message of a batch request, in one statement (docs/ARCHITECTURE.md, "Batches").

        Only messages still ``sending`` are marked.
        """
        ...

    async def switch_vendor(self, message_id: str, vendor: str, reason: str, *, now: float) -> None:
        """Send a message being sent through ``vendor`` from now on (failover), with a timeline event ``reason``.

        The status and the lease stay. Raises :class:`StaleTransition` when the message is not ``sending``.
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
        report: Report | None = None,
    ) -> None:
        """Move a message to ``status`` and append the timeline event, in one transaction.

        Also records ``attempt`` (incrementing the attempt count) and sets the given fields when not ``None``.
        ``next_attempt_at`` is cleared unless given, and so is ``send_started_at`` (see :meth:`begin_send`) unless
        ``status`` is ``unknown``. With ``report``, the Braze feedback row of the new status
        is queued in the same transaction, so a crash cannot lose it. Raises :class:`StaleTransition` when
        ``expect`` is given and the current status is not in it, and ``KeyError`` for an unknown id.
        """
        ...

    async def record_attempt(
        self,
        message_id: str,
        attempt: Attempt,
        reason: str,
        *,
        now: float,
        vendor_request: dict[str, object] | None = None,
    ) -> None:
        """Record an attempt that did not end the claim (an in-process retry or a fallback follows).

        Appends the attempt (incrementing the attempt count) and a timeline event with the message's current
        status and ``reason``, and keeps ``vendor_request`` when given; the status and the lease are left as
        they are.
        """
        ...

    async def transition_many(self, transitions: Sequence[Transition], *, now: float) -> list[bool]:
        """Apply each of ``transitions`` as :meth:`transition` (or, with ``fallback``, :meth:`link_fallback`) would,
        all at ``now`` and in one transaction; return, per transition, whether its message moved.

        Each is checked on its own: one whose message is unknown, not in one of its ``expect`` statuses, or (with
        a fallback) already fell back writes nothing and answers ``False``, and the others still move. Each moved
        message gets its attempt, its timeline event, its Braze report and its fallback, as one at a time would.
        The ids must be distinct.
        """
        ...

    async def record_attempts(self, entries: Sequence[AttemptEntry], *, now: float) -> None:
        """:meth:`record_attempt` for each of ``entries``, in one transaction; unknown ids are skipped."""
        ...

    async def last_attempts(self, message_ids: Sequence[str]) -> dict[str, Attempt]:
        """The last attempt of each of ``message_ids`` that has one."""
        ...

    async def get(self, message_id: str) -> MessageDetail | None:
        """Return the message with its attempts and events, or ``None``."""
        ...

    async def search(self, criteria: MessageFilter, *, limit: int, cursor: str | None = None) -> Page:
        """Return matching messages newest first, ``limit`` at a time."""
        ...

    async def count_by_status(self, statuses: frozenset[Status] | None = None) -> dict[Status, int]:
        """Return how many messages are in each status (statuses with none are left out).

        With ``statuses``, only those are counted, through the status index (the queue, not the history).
        """
        ...

    async def link_fallback(
        self,
        parent_id: str,
        child: NewMessage,
        reason: str,
        *,
        now: float,
        expect: frozenset[Status] | None = None,
        report: Report | None = None,
    ) -> None:
        """Add ``child`` and move ``parent_id`` to ``fallback`` pointing at it, in one transaction.

        With ``report``, the parent's ``fallback`` feedback row for Braze is queued in that transaction too.

        A message falls back at most once: raises :class:`StaleTransition` (writing nothing) when the parent
        already has a fallback, or when ``expect`` is given and the parent is in another status; ``KeyError``
        for an unknown parent.
        """
        ...

    # Delivery receipts, the receipt sweep, result polls and Braze feedback (issue 4).

    async def add_receipts(self, receipts: Sequence[Receipt], *, now: float) -> list[bool]:
        """Store receipts durably as ``pending``; one already stored (same vendor and event id) is skipped.

        Returns, per receipt, whether it was new.
        """
        ...

    async def claim_receipts(self, *, now: float, limit: int, lease: float) -> list[StoredReceipt]:
        """Take up to ``limit`` pending receipts due for a try (oldest due first), returned in arrival order.

        Each is hidden from other claimers until ``now + lease``, after which an unsettled one is due again.
        """
        ...

    async def find_receipt_messages(self, receipts: Sequence[Receipt]) -> list[StoredMessage | None]:
        """The message each receipt reports on (``None``: none), in one read (PostgreSQL: one statement).

        A receipt names its message by our id (the correlation id), else by the vendor's message id when exactly
        one message has it (a batch request's id is all its messages'); either way the message must have been sent
        through the receipt's vendor.
        """
        ...

    async def settle_receipts(
        self, settlements: Sequence[tuple[int, Settlement]], *, now: float
    ) -> list[StaleTransition | KeyError | None]:
        """Record what each receipt did and apply it to its message, all in one transaction.

        Each ``(receipt id, settlement)`` is applied on its own, in the order given (two about one message: the
        second sees the first's effect): it is written whole or not at all, and its answer is ``None`` when it
        was written, else what kept it out: :class:`StaleTransition` when the receipt is no longer pending or
        ``settlement.expect`` is given and the message is in another status, ``KeyError`` for an unknown receipt
        or message. One kept out does not stop the others.
        """
        ...

    async def defer_receipts(self, deferrals: Sequence[tuple[int, float]]) -> None:
        """Leave each ``(receipt id, next try at)`` pending until that time and count the try, in one transaction."""
        ...

    async def expire_accepted(
        self, channel: str, accepted_before: float, reason: str, *, now: float, limit: int, feedback: bool
    ) -> list[str]:
        """Move up to ``limit`` messages of ``channel`` accepted before ``accepted_before`` to ``unknown``.

        Each gets the timeline event ``reason`` (and a Braze feedback row when ``feedback``); returns their ids.
        """
        ...

    async def claim_result_polls(
        self, *, vendor: str, channel: str, now: float, interval: float, limit: int
    ) -> list[StoredMessage]:
        """Take up to ``limit`` accepted messages of ``vendor`` and ``channel`` (a product whose results are polled)
        due for a poll, and schedule their next poll.

        Due means: not polled yet and accepted at least ``interval`` ago, or last polled ``interval`` ago.
        """
        ...

    async def claim_feedback(self, *, now: float, limit: int, lease: float) -> list[FeedbackItem]:
        """Take up to ``limit`` unsent feedback rows that are due, oldest first, hidden until ``now + lease``."""
        ...

    async def feedback_sent(self, ids: Sequence[int], *, now: float) -> None:
        """Mark feedback rows as reported."""
        ...

    async def feedback_failed(self, ids: Sequence[int], *, next_try_at: float) -> None:
        """Count a failed report of these rows and make them due again at ``next_try_at``."""
        ...

    # Support console (issue 5): replay, statistics, audit log, retention and erasure.

    async def replay(self, message_ids: Sequence[str], reason: str, *, now: float) -> list[str]:
        """Move those of ``message_ids`` in a final state back to ``queued``, due ``now``, in one transaction.

        Each moved message gets a timeline event with ``reason`` and ``replayed_at = now``, so its retry budget
        starts again. Returns the ids moved; unknown ids, messages not in a final state and messages whose
        personal data was erased (nothing is left to send) are left out.
        """
        ...

    async def note(self, message_id: str, reason: str, *, now: float) -> bool:
        """Append a timeline event with the message's current status (nothing else changes).

        Returns whether the message exists.
        """
        ...

    async def recent_image_upload(self, vendor: str, source_url: str, *, since: float) -> str | None:
        """The vendor's URL of the image last fetched from ``source_url`` at or after ``since``, if any."""
        ...

    async def image_upload(self, vendor: str, source_url: str, sha256: str) -> str | None:
        """The vendor's URL of this content from ``source_url``, whenever it was uploaded."""
        ...

    async def save_image_upload(
        self, vendor: str, source_url: str, sha256: str, vendor_url: str, *, now: float
    ) -> None:
        """Remember (or confirm, moving ``checked_at`` to ``now``) the vendor's URL of an uploaded image."""
        ...

    async def forget_image_upload(self, vendor: str, vendor_url: str) -> int:
        """Forget every cached upload that ``vendor`` named ``vendor_url`` (it no longer has it); how many."""
        ...

    async def window_counts(self, *, created_from: float, created_to: float) -> list[WindowCount]:
        """Count the messages created in ``[created_from, created_to)`` by status, channel and vendor."""
        ...

    async def failures_by_code(self, *, since: float, until: float, limit: int) -> list[FailureCount]:
        """Count failures in ``[since, until)`` by vendor, channel and vendor code, most frequent first.

        A failure is an attempt that was not accepted (started in the window) or a receipt reporting a failed
        delivery (received in the window) that was matched to a message.
        """
        ...

    async def add_audit(self, entry: AuditEntry) -> None:
        """Append ``entry`` to the audit log (committed when this returns)."""
        ...

    async def audit_log(self, *, limit: int, cursor: str | None = None) -> AuditPage:
        """Return audit entries newest first, ``limit`` at a time; ``ValueError`` for a foreign cursor."""
        ...

    async def start_session(self, session_id: str, staff: str, *, now: float, expires_at: float) -> None:
        """Record a console session that lasts until ``expires_at``; sessions already expired are deleted."""
        ...

    async def session_active(self, session_id: str, *, now: float) -> bool:
        """Whether the console session ``session_id`` was started, has not ended and has not expired at ``now``."""
        ...

    async def end_session(self, session_id: str) -> None:
        """End a console session (sign-out); an unknown id is ignored."""
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
        a timeline event with ``reason``. The user's refusals lose their phone, email and body the same way.
        """
        ...

    # Refused ingests (issue 11).

    async def add_refusal(self, refusal: Refusal) -> None:
        """Keep a refused ingest (committed when this returns)."""
        ...

    async def get_refusal(self, refusal_id: str) -> Refusal | None:
        """Return one refusal, or ``None``."""
        ...

    async def search_refusals(self, criteria: MessageFilter, *, limit: int, cursor: str | None = None) -> RefusalPage:
        """Return matching refusals newest first, ``limit`` at a time (``status`` and ``vendor`` must be ``None``).

        Raises:
            ValueError: The cursor is invalid, or ``status`` or ``vendor`` is given.
        """
        ...

    async def count_refusals(self, *, created_from: float, created_to: float) -> int:
        """Count the refusals of ``[created_from, created_to)``."""
        ...

    async def purge_refusals(self, *, created_before: float, limit: int) -> int:
        """Delete up to ``limit`` of the oldest refusals made before ``created_before``; return how many."""
        ...

    # Campaign report (issue 12): computed by the database from the campaign's messages only.

    async def campaign_data(self, key: CampaignKey, value: str) -> CampaignData:
        """Counts of the messages whose ``key`` (``campaign_id`` or ``dispatch_id``) is ``value``, in one snapshot.

        By channel and origin (from Braze, or a kakao fallback LMS): messages per status and how many a vendor
        accepted; the messages that did not reach the user grouped by vendor, status, last attempt outcome and
        vendor code; and the p50/p95 seconds from reception to delivery. ``messages == 0`` when none matches.
        """
        ...

    async def recent_campaigns(self, *, since: float, until: float, limit: int) -> list[CampaignSummary]:
        """Campaigns with Braze messages created in ``[since, until)``, latest first, at most ``limit``."""
        ...
