"""Refused ingests (issue 11): what support sees of a body Braze sent that the gateway answered with a 4xx.

An older rule kept nothing of a rejected request; issue 11 is newer and wins: a refusal is kept for the
retention period so that "why didn't she get it?" has an answer. Only a :class:`Refusal` row is written (the
message tables are untouched), with the body's phone numbers and emails masked; 401 is not kept (an
unauthenticated caller must not be able to write to the store) and 429/503 are the gateway's own trouble, not
a refusal of the message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import msgspec

from gateway.api.masking import mask_email, mask_phone
from gateway.models import BrazeContext
from gateway.normalise.errors import FieldError
from gateway.normalise.recipients import RecipientError, normalise_email, normalise_phone
from gateway.normalise.unknown_keys import BRAZE_KEYS

__all__ = ("KEPT_BODY_CHARS", "Refusal", "RefusalPage", "mask_text", "refusal_of")

#: Most characters of a refused body kept (the largest accepted body is 256 KiB; support needs the start).
KEPT_BODY_CHARS = 16_384
_CHANNELS = frozenset({"kakao", "lms", "email"})
_SHORT_TEXT = 200
# Korean mobile numbers in the forms ingest accepts (010-1234-5678, +82 10 1234 5678, 821012345678) and any
# address-looking text: masked wherever they appear in a kept body, whatever the key.
_PHONE = re.compile(r"(?<![\d+])(?:\+?82[-. ]?)?0?1[016789][-. ]?\d{3,4}[-. ]?\d{4}(?!\d)")
_EMAIL = re.compile(r"[^\s@\"'<>&=,;:()\[\]{}\\]+@[^\s@\"'<>&=,;:()\[\]{}\\]+\.[A-Za-z]{2,}")
_ENCODER = msgspec.json.Encoder()


class Refusal(msgspec.Struct, frozen=True, kw_only=True):
    """One refused ingest.

    Attributes:
        id: Sorts by creation time, like a message id.
        at: When it was refused (POSIX seconds).
        http_status: What Braze was answered (400, 409, 413, 415, 422).
        detail: The answer's summary.
        errors: The answer's field errors.
        user_id: The body's ``userId`` as given, if any.
        channel: The body's ``channel`` when it names one.
        phone: The recipient's number as ingest normalises it (for search; cleared by erasure).
        email: The recipient's address as ingest normalises it (for search; cleared by erasure).
        braze: The Braze ids the body gave.
        content_type: The request's media type.
        body: The body with phone numbers and emails masked, cut to :data:`KEPT_BODY_CHARS`.
        message_id: For a 409, the message the reused idempotency key belongs to.
    """

    id: str
    at: float
    http_status: int
    detail: str
    errors: tuple[FieldError, ...] = ()
    user_id: str | None = None
    channel: str | None = None
    phone: str | None = None
    email: str | None = None
    braze: BrazeContext = BrazeContext()
    content_type: str = ""
    body: str = ""
    message_id: str | None = None


class RefusalPage(msgspec.Struct, frozen=True):
    """Refusals newest first; ``next_cursor`` is ``None`` on the last page."""

    items: list[Refusal]
    next_cursor: str | None


def refusal_of(
    refusal_id: str,
    *,
    at: float,
    http_status: int,
    detail: str,
    errors: list[FieldError] | None,
    content_type: str,
    body: Mapping[str, Any] | None,
    raw: bytes | None,
    message_id: str | None = None,
) -> Refusal:
    """The refusal of one request.

    Args:
        body: The decoded body, when it could be decoded; its ids and recipient make the refusal searchable.
        raw: The body as received; ``None`` when it was not read (too large).
    """
    fields = body or {}
    return Refusal(
        id=refusal_id,
        at=at,
        http_status=http_status,
        detail=_clean(detail),
        errors=tuple(FieldError(_clean(e.field), _clean(e.message)) for e in errors or ()),
        user_id=_short(fields.get("userId")),
        channel=_channel(fields.get("channel")),
        phone=_normalised(normalise_phone, fields.get("phone")),
        email=_normalised(normalise_email, fields.get("email")),
        braze=BrazeContext(**{attr: _short(fields.get(key)) for attr, key in BRAZE_KEYS.items()}),
        content_type=_clean(content_type[:_SHORT_TEXT]),
        body=_kept_body(body, raw),
        message_id=message_id,
    )


def mask_text(text: str) -> str:
    """``text`` with every phone number and email address in it masked."""
    text = _PHONE.sub(lambda found: mask_phone(re.sub(r"\D", "", found.group())[-11:]) or "", text)
    return _EMAIL.sub(lambda found: mask_email(found.group()) or "", text)


def _kept_body(body: Mapping[str, Any] | None, raw: bytes | None) -> str:
    if raw is None:
        return "[not kept: larger than the gateway accepts]"
    if body is not None:
        # The decoded form, so a form body reads as its fields; phone and email masked whatever their shape.
        masked = {key: _masked_value(key, value) for key, value in body.items()}
        text = _ENCODER.encode(masked).decode()
    else:
        text = raw.decode("utf-8", "replace")
    text = _clean(mask_text(text))
    return text if len(text) <= KEPT_BODY_CHARS else text[:KEPT_BODY_CHARS] + "…[cut]"


def _masked_value(key: str, value: Any) -> Any:
    """A ``phone`` or ``email`` value masked as the console masks it (``***`` when it is not one)."""
    if key not in ("phone", "email") or not isinstance(value, str) or not value.strip():
        return value
    if key == "phone":
        return mask_phone(_normalised(normalise_phone, value)) or "***"
    return mask_email(_normalised(normalise_email, value)) or "***"


def _normalised(normalise: Any, value: object) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        result: str = normalise(value)
    except RecipientError:
        return None
    return result


def _channel(value: object) -> str | None:
    return value.strip().lower() if isinstance(value, str) and value.strip().lower() in _CHANNELS else None


def _short(value: object) -> str | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        return None
    return _clean(value.strip()[:_SHORT_TEXT])


def _clean(text: str) -> str:
    """``text`` as both stores can keep it: PostgreSQL refuses NUL characters, and UTF-8 lone surrogates."""
    return text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")
