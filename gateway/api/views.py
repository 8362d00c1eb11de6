"""The JSON shapes of the support API, built from store records with personal data masked."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec

from gateway.api.masking import mask_contacts, mask_email, mask_phone
from gateway.api.receipt_views import ReceiptView, receipt_view
from gateway.models import Attempt, Event, MessageDetail, OutboundMessage, StoredMessage
from gateway.store.types_admin import AuditPage, FailureCount, WindowCount

__all__ = (
    "AttemptView",
    "AuditAnswer",
    "AuditEntryView",
    "BrazeView",
    "BulkReplayAnswer",
    "ButtonView",
    "CountView",
    "ErasureAnswer",
    "EventView",
    "FailureView",
    "MessageDetailView",
    "MessageView",
    "NormalisedView",
    "ReplayAnswer",
    "SearchAnswer",
    "StatsView",
    "audit_answer",
    "detail_view",
    "iso",
    "masked_normalised_view",
    "message_view",
    "normalised_view",
    "stats_view",
)


def iso(ts: float | None) -> str | None:
    """POSIX seconds as an ISO 8601 UTC timestamp with milliseconds."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class MessageView(msgspec.Struct, kw_only=True):
    """One message in a search result."""

    messageId: str
    status: str
    channel: str
    vendor: str
    userId: str
    phone: str | None
    email: str | None
    campaignId: str | None
    campaignName: str | None
    dispatchId: str | None
    createdAt: str
    updatedAt: str
    nextAttemptAt: str | None
    attemptCount: int
    vendorMessageId: str | None
    parentId: str | None
    childId: str | None


class AttemptView(msgspec.Struct, kw_only=True):
    """One vendor call."""

    number: int
    startedAt: str
    durationMs: float
    outcome: str
    httpStatus: int | None
    vendorCode: str | None
    detail: str


class EventView(msgspec.Struct, kw_only=True):
    """One timeline entry."""

    at: str
    status: str
    reason: str


class ButtonView(msgspec.Struct, kw_only=True, rename="camel"):
    """One CTA button after normalisation."""

    name: str
    link_mobile: str
    link_pc: str


class BrazeView(msgspec.Struct, kw_only=True, rename="camel"):
    """The Braze ids a message came with."""

    campaign_id: str | None = None
    campaign_name: str | None = None
    dispatch_id: str | None = None
    canvas_id: str | None = None
    canvas_step_id: str | None = None
    send_id: str | None = None


class NormalisedView(msgspec.Struct, kw_only=True, rename="camel"):
    """The message as normalised and sent: the ingest body's keys (camelCase), the values after normalisation.

    ``notes`` say what normalisation and the channel rules changed; ``text`` is an email's plain-text part.
    """

    channel: str
    user_id: str
    content: str
    phone: str | None = None
    email: str | None = None
    subject: str | None = None
    text: str | None = None
    buttons: list[ButtonView] = msgspec.field(default_factory=list)
    image_url: str | None = None
    ad: bool = False
    fallback: str = "none"
    vendor: str | None = None
    braze: BrazeView = msgspec.field(default_factory=BrazeView)
    notes: list[str] = msgspec.field(default_factory=list)


class MessageDetailView(msgspec.Struct, kw_only=True):
    """A message with its normalised form, the vendor request as sent, attempts and timeline.

    ``vendorRequest`` is the request the vendor received, in the vendor's own field names.
    """

    message: MessageView
    normalised: NormalisedView
    vendorRequest: dict[str, Any] | None
    attempts: list[AttemptView]
    timeline: list[EventView]
    #: Whether phone and email are shown unmasked (an operator's audited reveal).
    revealed: bool = False
    #: Delivery receipts matched to the message, in arrival order.
    receipts: list[ReceiptView] = msgspec.field(default_factory=list)


def message_view(record: StoredMessage, *, reveal: bool = False) -> MessageView:
    """The summary of ``record``; phone and email masked unless ``reveal``."""
    msg = record.message
    return MessageView(
        messageId=record.id,
        status=record.status.value,
        channel=msg.channel,
        vendor=record.vendor,
        userId=msg.user_id,
        phone=msg.phone if reveal else mask_phone(msg.phone),
        email=msg.email if reveal else mask_email(msg.email),
        campaignId=msg.braze.campaign_id,
        campaignName=msg.braze.campaign_name,
        dispatchId=msg.braze.dispatch_id,
        createdAt=iso(record.created_at) or "",
        updatedAt=iso(record.updated_at) or "",
        nextAttemptAt=iso(record.next_attempt_at),
        attemptCount=record.attempt_count,
        vendorMessageId=record.vendor_message_id,
        parentId=record.parent_id,
        childId=record.child_id,
    )


def detail_view(detail: MessageDetail, *, reveal: bool = False) -> MessageDetailView:
    """The full view of one message; personal data masked everywhere unless ``reveal``."""
    record = detail.record
    return MessageDetailView(
        message=message_view(record, reveal=reveal),
        normalised=_normalised_view(record, reveal),
        vendorRequest=_masked(record.vendor_request, record, reveal) if record.vendor_request else None,
        attempts=[_attempt_view(a) for a in detail.attempts],
        timeline=[_event_view(e) for e in detail.events],
        revealed=reveal,
        receipts=[receipt_view(r) for r in detail.receipts],
    )


def _normalised_view(record: StoredMessage, reveal: bool) -> NormalisedView:
    return normalised_view(record.message) if reveal else masked_normalised_view(record.message)


def normalised_view(message: OutboundMessage) -> NormalisedView:
    """``message`` in the API's camelCase shape, as it is (contacts shown)."""
    return msgspec.convert(message, NormalisedView, from_attributes=True)


def masked_normalised_view(message: OutboundMessage) -> NormalisedView:
    """``message`` in the API's camelCase shape with its phone number and email masked wherever they occur."""
    masked = mask_contacts(msgspec.to_builtins(message), message.phone, message.email)
    return normalised_view(msgspec.convert(masked, OutboundMessage))


def _masked(value: Any, record: StoredMessage, reveal: bool) -> Any:
    """``value`` with the message's phone number and email replaced by their masked forms, wherever they occur."""
    return value if reveal else mask_contacts(value, record.message.phone, record.message.email)


def _attempt_view(attempt: Attempt) -> AttemptView:
    return AttemptView(
        number=attempt.number,
        startedAt=iso(attempt.started_at) or "",
        durationMs=attempt.duration_ms,
        outcome=attempt.outcome,
        httpStatus=attempt.http_status,
        vendorCode=attempt.vendor_code,
        detail=attempt.detail,
    )


def _event_view(event: Event) -> EventView:
    return EventView(at=iso(event.at) or "", status=event.status.value, reason=event.reason)


class SearchAnswer(msgspec.Struct, kw_only=True):
    """One page of a search, newest first; pass ``nextCursor`` as ``cursor`` for the next page."""

    items: list[MessageView]
    nextCursor: str | None


class ReplayAnswer(msgspec.Struct, kw_only=True):
    """A replayed message, queued again."""

    messageId: str
    status: str


class BulkReplayAnswer(msgspec.Struct, kw_only=True):
    """A bulk replay: ``count`` replayed (or, on a dry run, that would be); ``more`` when over ``limit`` matched."""

    dryRun: bool
    count: int
    limit: int
    more: bool


class CountView(msgspec.Struct, kw_only=True):
    """Messages of one status, channel and vendor."""

    status: str
    channel: str
    vendor: str
    count: int


class FailureView(msgspec.Struct, kw_only=True):
    """Failures of one vendor code: failed attempts and receipts that reported a failed delivery."""

    vendor: str
    channel: str
    code: str | None
    count: int
    lastAt: str
    example: str


class StatsView(msgspec.Struct, kw_only=True):
    """Messages created in ``[from, to)`` by state, channel and vendor, and the failures of the window.

    ``failures`` counts failed attempts and the receipts that reported a failure (Kakao 3018, 9999, a bounce),
    so a message ``failed`` by its receipt is there too.
    """

    from_: str = msgspec.field(name="from")
    to: str
    total: int
    byStatus: dict[str, int]
    byChannel: dict[str, int]
    byVendor: dict[str, int]
    counts: list[CountView]
    failures: list[FailureView]
    #: Ingests refused in the window (not messages: see ``GET /v1/admin/refusals``).
    refused: int = 0


class AuditEntryView(msgspec.Struct, kw_only=True):
    """Who did what to which message or user, and when."""

    at: str
    staff: str
    role: str
    action: str
    target: str
    detail: str


class AuditAnswer(msgspec.Struct, kw_only=True):
    """Audit entries newest first."""

    items: list[AuditEntryView]
    nextCursor: str | None


class ErasureAnswer(msgspec.Struct, kw_only=True):
    """How many messages of a user had their personal data erased."""

    userId: str
    erased: int


def stats_view(
    counts: list[WindowCount], failures: list[FailureCount], start: float, end: float, *, refused: int = 0
) -> StatsView:
    """The stats answer: totals per state, channel and vendor, plus every combination and the failures."""
    by: dict[str, dict[str, int]] = {"status": {}, "channel": {}, "vendor": {}}
    for row in counts:
        for key, value in (("status", row.status.value), ("channel", row.channel), ("vendor", row.vendor)):
            by[key][value] = by[key].get(value, 0) + row.count
    return StatsView(
        from_=iso(start) or "",
        to=iso(end) or "",
        total=sum(row.count for row in counts),
        byStatus=by["status"],
        byChannel=by["channel"],
        byVendor=by["vendor"],
        counts=[CountView(status=r.status.value, channel=r.channel, vendor=r.vendor, count=r.count) for r in counts],
        failures=[
            FailureView(
                vendor=f.vendor,
                channel=f.channel,
                code=f.code,
                count=f.count,
                lastAt=iso(f.last_at) or "",
                example=f.example,
            )
            for f in failures
        ],
        refused=refused,
    )


def audit_answer(page: AuditPage) -> AuditAnswer:
    """The audit log answer."""
    items = [
        AuditEntryView(
            at=iso(e.at) or "", staff=e.staff, role=e.role, action=e.action, target=e.target, detail=e.detail
        )
        for e in page.items
    ]
    return AuditAnswer(items=items, nextCursor=page.next_cursor)
