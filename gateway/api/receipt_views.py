"""The JSON shape of a delivery receipt in the support API's message detail."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec

from gateway.models import StoredReceipt

__all__ = ("ReceiptView", "receipt_view")


class ReceiptView(msgspec.Struct, kw_only=True):
    """One vendor report about a message and what it did.

    ``state``: ``applied`` (it moved the message), ``progress`` (noted only), ``late`` (it came after the
    message had ended and changed nothing).
    """

    vendor: str
    eventId: str
    outcome: str
    code: str | None
    detail: str
    state: str
    occurredAt: str | None
    receivedAt: str
    settledAt: str | None


def receipt_view(stored: StoredReceipt) -> ReceiptView:
    """The view of one stored receipt."""
    receipt = stored.receipt
    return ReceiptView(
        vendor=receipt.vendor,
        eventId=receipt.event_id,
        outcome=receipt.outcome,
        code=receipt.code,
        detail=receipt.detail,
        state=stored.state,
        occurredAt=_iso(receipt.occurred_at),
        receivedAt=_iso(stored.received_at) or "",
        settledAt=_iso(stored.settled_at),
    )


def _iso(ts: float | None) -> str | None:
    # The same format as gateway.api.views.iso, which this module cannot import (views imports it).
    return (
        None
        if ts is None
        else datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )
