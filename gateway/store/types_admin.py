"""The shapes of the support console's store operations: window counts, failures by code and the audit log."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from gateway.models import Status

__all__ = ("AuditAction", "AuditEntry", "AuditPage", "FailureCount", "WindowCount")

#: What staff did that the audit log records.
AuditAction = Literal["reveal", "replay", "bulk_replay", "erase"]


class WindowCount(msgspec.Struct, frozen=True):
    """How many messages created in a window have one ``(status, channel, vendor)``."""

    status: Status
    channel: str
    vendor: str
    count: int


class FailureCount(msgspec.Struct, frozen=True, kw_only=True):
    """Failures of one vendor and channel with one vendor code in a window: failed attempts and failure receipts.

    Attributes:
        code: The vendor's result code (``None`` when the vendor gave none, e.g. a timeout without an answer).
        last_at: When the latest of them started (an attempt) or arrived (a receipt).
        example: The detail of one of them, for a human reading the dashboard.
    """

    vendor: str
    channel: str
    code: str | None
    count: int
    last_at: float
    example: str


class AuditEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One audited staff action: who, what, on which message or user, when.

    ``detail`` never holds a phone number or an email: callers write masked values only.
    """

    at: float
    staff: Annotated[str, msgspec.Meta(min_length=1)]
    role: str
    action: AuditAction
    #: A message id, a user id or a description of a bulk filter.
    target: str
    detail: str = ""


class AuditPage(msgspec.Struct, frozen=True):
    """Audit entries newest first; ``next_cursor`` is ``None`` on the last page."""

    items: list[AuditEntry]
    next_cursor: str | None
