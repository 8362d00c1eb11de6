"""Rows to Structs and back, the same for both backends.

Both backends select :data:`MESSAGE_COLUMNS` in this order and get the JSON columns back as text, which
msgspec decodes straight into the model (faster than a generic JSON parser plus conversion).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from gateway.models import Attempt, Event, NewMessage, OutboundMessage, Status, StoredMessage

__all__ = (
    "ATTEMPT_COLUMNS",
    "EVENT_COLUMNS",
    "INSERT_COLUMNS",
    "attempt_from_row",
    "attempt_values",
    "encode_json",
    "event_from_row",
    "insert_values",
    "message_columns",
    "route_keys",
    "stored_message",
)

_COLUMNS = (
    "id",
    "idempotency_key",
    "vendor",
    "status",
    "message",
    "created_at",
    "updated_at",
    "next_attempt_at",
    "attempt_count",
    "vendor_message_id",
    "vendor_request",
    "parent_id",
    "child_id",
    "replayed_at",
    "send_started_at",
)
_JSON_COLUMNS = frozenset({"message", "vendor_request"})
#: The columns :func:`insert_values` fills, in its order.
INSERT_COLUMNS = (
    "id, idempotency_key, channel, vendor, status, user_id, phone, email, campaign_id, dispatch_id, canvas_id, "
    "created_at, updated_at, next_attempt_at, message, raw_body, parent_id"
)
ATTEMPT_COLUMNS = "number, started_at, duration_ms, outcome, http_status, vendor_code, detail"
EVENT_COLUMNS = "at, status, reason"

_ENCODER = msgspec.json.Encoder()
_MESSAGE = msgspec.json.Decoder(OutboundMessage)
_OBJECT = msgspec.json.Decoder(dict[str, Any])


def message_columns(prefix: str = "", json_suffix: str = "") -> str:
    """The select list :func:`stored_message` reads; ``json_suffix`` (``::text``) turns JSON columns into text."""
    return ", ".join(f"{prefix}{name}{json_suffix if name in _JSON_COLUMNS else ''}" for name in _COLUMNS)


def stored_message(row: Sequence[Any]) -> StoredMessage:
    """Build a :class:`StoredMessage` from a row selected with :func:`message_columns`."""
    return StoredMessage(
        id=row[0],
        idempotency_key=row[1],
        vendor=row[2],
        status=Status(row[3]),
        message=_MESSAGE.decode(row[4]),
        created_at=row[5],
        updated_at=row[6],
        next_attempt_at=row[7],
        attempt_count=row[8],
        vendor_message_id=row[9],
        vendor_request=None if row[10] is None else _OBJECT.decode(row[10]),
        parent_id=row[11],
        child_id=row[12],
        replayed_at=row[13],
        send_started_at=row[14],
    )


def encode_json(value: object) -> str:
    """Encode ``value`` as JSON text for a JSON column."""
    return _ENCODER.encode(value).decode()


def insert_values(new: NewMessage, parent_id: str | None) -> tuple[Any, ...]:
    """The values of :data:`INSERT_COLUMNS` for ``new``."""
    message = new.message
    braze = message.braze
    return (
        new.id,
        new.idempotency_key,
        message.channel,
        new.vendor,
        new.status.value,
        message.user_id,
        message.phone,
        message.email,
        braze.campaign_id,
        braze.dispatch_id,
        braze.canvas_id,
        new.created_at,
        new.created_at,
        new.next_attempt_at,
        encode_json(message),
        new.raw_body,
        parent_id,
    )


def attempt_values(message_id: str, attempt: Attempt) -> tuple[Any, ...]:
    """``message_id`` then the values of :data:`ATTEMPT_COLUMNS`."""
    return (
        message_id,
        attempt.number,
        attempt.started_at,
        attempt.duration_ms,
        attempt.outcome,
        attempt.http_status,
        attempt.vendor_code,
        attempt.detail,
    )


def attempt_from_row(row: Sequence[Any]) -> Attempt:
    """Build an :class:`Attempt` from a row of :data:`ATTEMPT_COLUMNS`."""
    return Attempt(
        number=row[0],
        started_at=row[1],
        duration_ms=row[2],
        outcome=row[3],
        http_status=row[4],
        vendor_code=row[5],
        detail=row[6],
    )


def event_from_row(row: Sequence[Any]) -> Event:
    """Build an :class:`Event` from a row of :data:`EVENT_COLUMNS`."""
    return Event(at=row[0], status=Status(row[1]), reason=row[2])


def route_keys(routes: frozenset[tuple[str, str]]) -> list[str]:
    """``(vendor, channel)`` pairs as the ``vendor:channel`` keys the claim queries compare with."""
    return sorted(f"{vendor}:{channel}" for vendor, channel in routes)
