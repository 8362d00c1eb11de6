"""The types the gateway and the vendor adapters share: the message going out, what a vendor answered, what it
reported later. Nothing here knows a vendor or the gateway's web, store or dispatch layers.

Everything is a plain msgspec Struct so it can be stored as JSON and encoded without glue code. Timestamps are
POSIX seconds (``float``) in UTC throughout.
"""

from __future__ import annotations

import enum
from typing import Literal

import msgspec

__all__ = (
    "OUTCOME_REASONS",
    "Accepted",
    "BrazeContext",
    "Button",
    "CannotTell",
    "Channel",
    "Fallback",
    "Found",
    "LookupResult",
    "NotFound",
    "OutboundMessage",
    "Outcome",
    "Permanent",
    "Reason",
    "Receipt",
    "ReceiptOutcome",
    "Retryable",
    "Uncertain",
)

Channel = Literal["kakao", "lms", "email"]
Fallback = Literal["lms", "none"]
ReceiptOutcome = Literal["delivered", "failed", "progress"]


class Reason(enum.StrEnum):
    """What a receipt means for the message, whatever the vendor's code (like anymail's ``reject_reason``).

    Each vendor's parser sets it from its own codes (docs/vendors.md lists them); the gateway decides
    fallbacks and resends on it alone.
    """

    #: The recipient got it.
    DELIVERED = "delivered"
    #: An intermediate event (handed to the carrier, deferred): the message has not ended.
    PENDING = "pending"
    #: This channel cannot reach this person (not a KakaoTalk user, not a channel friend), another one may.
    UNREACHABLE = "unreachable"
    #: The vendor's or the carrier's own trouble: the same send may work later.
    RETRY_LATER = "retry_later"
    #: The sender is blocked, closed or sanctioned, or the recipient refused it: someone must act first.
    BLOCKED = "blocked"
    #: The request or the recipient is wrong (bad number, too long, outside sending hours): sending it again
    #: cannot help.
    INVALID = "invalid"
    #: The recipient's mail server refused it.
    BOUNCED = "bounced"
    #: A failure the vendor does not explain further.
    OTHER = "other"


#: The reason of every receipt that did not fail; a failed one's comes from the vendor's code.
OUTCOME_REASONS: dict[ReceiptOutcome, Reason] = {"delivered": Reason.DELIVERED, "progress": Reason.PENDING}


class Button(msgspec.Struct, frozen=True):
    """One CTA button after normalisation: both links are absolute http(s) URLs."""

    name: str
    link_mobile: str
    link_pc: str


class BrazeContext(msgspec.Struct, frozen=True, omit_defaults=True):
    """The Braze identifiers a message came with; used for idempotency, receipts and search."""

    campaign_id: str | None = None
    campaign_name: str | None = None
    dispatch_id: str | None = None
    canvas_id: str | None = None
    canvas_step_id: str | None = None
    send_id: str | None = None


class OutboundMessage(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A normalised message, ready for a vendor adapter.

    The content is final: channel rules (LMS advertising prefix and opt-out line, character removal) have
    already been applied, so an adapter only maps fields.
    """

    channel: Channel
    user_id: str
    content: str
    phone: str | None = None
    email: str | None = None
    subject: str | None = None
    #: Plain-text alternative of an HTML email.
    text: str | None = None
    buttons: tuple[Button, ...] = ()
    image_url: str | None = None
    ad: bool = False
    fallback: Fallback = "none"
    #: Vendor asked for by the message itself; ``None`` means the channel's configured vendor.
    vendor: str | None = None
    braze: BrazeContext = BrazeContext()
    #: What normalisation changed that a support engineer should know (e.g. removed emoji).
    notes: tuple[str, ...] = ()


class Receipt(msgspec.Struct, frozen=True, kw_only=True):
    """One delivery report from a vendor callback (or a poll), parsed by that vendor's adapter.

    ``outcome`` is ``progress`` for intermediate events (handed to the carrier, deferred) that do not end
    the message.
    """

    vendor: str
    #: The vendor's id of this event, for deduplication (NHN ``hookId``, Solapi ``eventDataId``, ...).
    event_id: str
    outcome: ReceiptOutcome
    #: Our message id as the adapter put it in the request (NHN ``recipientGroupingKey``, ...).
    correlation_id: str | None = None
    vendor_message_id: str | None = None
    code: str | None = None
    detail: str = ""
    occurred_at: float | None = None
    #: What the vendor's code means, set by its parser; ``None`` only for receipts stored before reasons were
    #: (the vendor's mapping then gives it from ``code``).
    reason: Reason | None = None


class Accepted(msgspec.Struct, frozen=True, tag="accepted"):
    """The vendor took the message."""

    vendor_message_id: str | None
    code: str | None = None
    detail: str = ""


class Retryable(msgspec.Struct, frozen=True, tag="retryable"):
    """A transient failure: try again later (after ``retry_after`` seconds when the vendor said so)."""

    code: str | None
    detail: str
    retry_after: float | None = None


class Permanent(msgspec.Struct, frozen=True, tag="permanent"):
    """The request itself is wrong: sending it again will not help."""

    code: str | None
    detail: str


class Uncertain(msgspec.Struct, frozen=True, tag="uncertain"):
    """The request may have reached the vendor and its answer was lost (a read timeout or error after sending, an
    unreadable 2xx, a "seen this key" code): the vendor's lookup decides, not a blind resend (docs/ARCHITECTURE.md,
    "Uncertain sends")."""

    code: str | None
    detail: str


Outcome = Accepted | Retryable | Permanent | Uncertain


class Found(msgspec.Struct, frozen=True, tag="found"):
    """A lookup found the message at the vendor: it was taken."""

    vendor_message_id: str | None
    detail: str = ""


class NotFound(msgspec.Struct, frozen=True, tag="not_found"):
    """A lookup over a window that covers the send found nothing: the vendor never took it."""

    detail: str = ""


class CannotTell(msgspec.Struct, frozen=True, tag="cannot_tell"):
    """The lookup could not answer (an error, or a window the vendor may not have indexed yet): ask again later."""

    detail: str


LookupResult = Found | NotFound | CannotTell
