"""Receipt and Braze feedback rows to Structs and back, the same for both backends."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from adapters.contract import Reason
from gateway.models import Receipt, Status, StoredReceipt
from gateway.store.base import FeedbackItem
from gateway.store.rows import message_columns, stored_message

__all__ = (
    "RECEIPT_COLUMNS",
    "RECEIPT_INSERT_COLUMNS",
    "feedback_columns",
    "feedback_item",
    "receipt_values",
    "stored_receipt",
)

#: The columns :func:`stored_receipt` reads, in its order.
RECEIPT_COLUMNS = (
    "id, vendor, event_id, outcome, correlation_id, vendor_message_id, code, detail, occurred_at, received_at, "
    "state, message_id, settled_at, tries, reason"
)
#: The columns :func:`receipt_values` fills, in its order.
RECEIPT_INSERT_COLUMNS = (
    "vendor, event_id, outcome, correlation_id, vendor_message_id, code, detail, occurred_at, received_at, "
    "state, next_try_at, reason"
)


def receipt_values(receipt: Receipt, now: float) -> tuple[Any, ...]:
    """The values of :data:`RECEIPT_INSERT_COLUMNS` for a new pending receipt, due at once."""
    return (
        receipt.vendor,
        receipt.event_id,
        receipt.outcome,
        receipt.correlation_id,
        receipt.vendor_message_id,
        receipt.code,
        receipt.detail,
        receipt.occurred_at,
        now,
        "pending",
        now,
        None if receipt.reason is None else receipt.reason.value,
    )


def stored_receipt(row: Sequence[Any]) -> StoredReceipt:
    """Build a :class:`StoredReceipt` from a row of :data:`RECEIPT_COLUMNS`."""
    return StoredReceipt(
        id=row[0],
        receipt=Receipt(
            vendor=row[1],
            event_id=row[2],
            outcome=row[3],
            correlation_id=row[4],
            vendor_message_id=row[5],
            code=row[6],
            detail=row[7],
            occurred_at=row[8],
            reason=None if row[14] is None else Reason(row[14]),
        ),
        received_at=row[9],
        state=row[10],
        message_id=row[11],
        settled_at=row[12],
        tries=row[13],
    )


def feedback_columns(json_suffix: str = "") -> str:
    """The select list :func:`feedback_item` reads: outbox ``o`` joined with its message ``m``."""
    return f"o.id, o.state, o.vendor_code, o.at, {message_columns(prefix='m.', json_suffix=json_suffix)}"


def feedback_item(row: Sequence[Any]) -> FeedbackItem:
    """Build a :class:`FeedbackItem` from a row selected with :func:`feedback_columns`."""
    return FeedbackItem(id=row[0], state=Status(row[1]), code=row[2], at=row[3], record=stored_message(row[4:]))
