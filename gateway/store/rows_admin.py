"""SQL and row helpers of the support console's store operations, shared by both backends.

Statements are written with ``{p}`` for the driver's placeholder (``?`` or ``%s``) and ``{j}`` after a JSON
value (``::jsonb`` on PostgreSQL); :func:`sql` fills them in.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from gateway.models import ACTIVE_STATUSES, FINAL_STATUSES, OutboundMessage, Status
from gateway.store.types_admin import AuditEntry, AuditPage, FailureCount, WindowCount

__all__ = (
    "AUDIT_INSERT",
    "AUDIT_PAGE",
    "ERASED",
    "ERASE_UPDATE",
    "FAILURES",
    "FINAL_SQL",
    "NOTE",
    "NOT_ERASED_SQL",
    "PURGE",
    "SESSION_ACTIVE",
    "SESSION_END",
    "SESSION_EXPIRED",
    "SESSION_START",
    "WINDOW_COUNTS",
    "audit_page",
    "audit_values",
    "decode_audit_cursor",
    "erased_message",
    "erased_request",
    "erased_status",
    "failure_count",
    "sql",
    "window_count",
)

#: What replaces erased content, subjects, raw bodies and vendor request bodies.
ERASED = "[erased]"
#: The final statuses as an SQL list: a replay moves only these.
FINAL_SQL = ", ".join(f"'{status.value}'" for status in sorted(FINAL_STATUSES))
#: Every message has a phone number or an email until erasure clears both: a replay must not pick it up.
NOT_ERASED_SQL = "(phone IS NOT NULL OR email IS NOT NULL)"

NOTE = "INSERT INTO events (message_id, at, status, reason) SELECT id, {p}, status, {p} FROM messages WHERE id = {p}"
WINDOW_COUNTS = (
    "SELECT status, channel, vendor, count(*) FROM messages WHERE created_at >= {p} AND created_at < {p} "
    "GROUP BY status, channel, vendor"
)
# Failed attempts and the receipts that reported a failure (Kakao 3018, 9999, a bounce, ...): both partial indexes
# hold failures only, so a quiet window costs nothing however many messages succeeded.
FAILURES = (
    "SELECT vendor, channel, code, count(*), max(at), min(detail) FROM ("
    "SELECT m.vendor, m.channel, a.vendor_code AS code, a.started_at AS at, a.detail FROM attempts a "
    "JOIN messages m ON m.id = a.message_id "
    "WHERE a.started_at >= {p} AND a.started_at < {p} AND a.outcome <> 'accepted' "
    "UNION ALL "
    "SELECT m.vendor, m.channel, r.code, r.received_at, r.detail FROM receipts r "
    "JOIN messages m ON m.id = r.message_id "
    "WHERE r.received_at >= {p} AND r.received_at < {p} AND r.outcome = 'failed'"
    ") failures GROUP BY vendor, channel, code ORDER BY count(*) DESC, max(at) DESC LIMIT {p}"
)
AUDIT_INSERT = "INSERT INTO audit_log (at, staff, role, action, target, detail) VALUES ({p}, {p}, {p}, {p}, {p}, {p})"
AUDIT_PAGE = (
    "SELECT id, at, staff, role, action, target, detail FROM audit_log WHERE id < {p} ORDER BY id DESC LIMIT {p}"
)
SESSION_START = "INSERT INTO console_sessions (id, staff, created_at, expires_at) VALUES ({p}, {p}, {p}, {p})"
SESSION_ACTIVE = "SELECT 1 FROM console_sessions WHERE id = {p} AND expires_at > {p}"
SESSION_END = "DELETE FROM console_sessions WHERE id = {p}"
SESSION_EXPIRED = "DELETE FROM console_sessions WHERE expires_at <= {p}"
# Oldest first through messages_created, a bounded batch at a time; attempts, events, idempotency keys (and
# receipts) go with their message by ON DELETE CASCADE.
PURGE = (
    "DELETE FROM messages WHERE id IN "
    "(SELECT id FROM messages WHERE created_at < {p} ORDER BY created_at, id LIMIT {p})"
)
# The schedule and lease are dropped only when the status changes (a waiting message becomes suppressed);
# ``status`` on the right-hand side is the old value.
ERASE_UPDATE = (
    "UPDATE messages SET phone = NULL, email = NULL, message = {p}{j}, raw_body = {p}, vendor_request = {p}{j}, "
    "next_attempt_at = CASE WHEN status = {p} THEN next_attempt_at END, "
    "lease_until = CASE WHEN status = {p} THEN lease_until END, status = {p}, updated_at = {p} WHERE id = {p}"
)

_MESSAGE = msgspec.json.Decoder(OutboundMessage)
_OBJECT = msgspec.json.Decoder(dict[str, Any])
#: Statuses of a message not sent yet.
_WAITING = frozenset({status.value for status in ACTIVE_STATUSES} | {Status.SENDING.value})
#: Larger than any id, so the first page starts at the newest entry.
_FIRST_PAGE = 2**62


def sql(statement: str, placeholder: str, json_cast: str = "") -> str:
    """``statement`` with the driver's placeholder and JSON cast."""
    return statement.replace("{p}", placeholder).replace("{j}", json_cast)


def window_count(row: Sequence[Any]) -> WindowCount:
    """A :class:`WindowCount` from a row of :data:`WINDOW_COUNTS`."""
    return WindowCount(Status(row[0]), row[1], row[2], int(row[3]))


def failure_count(row: Sequence[Any]) -> FailureCount:
    """A :class:`FailureCount` from a row of :data:`FAILURES`."""
    return FailureCount(
        vendor=row[0], channel=row[1], code=row[2], count=int(row[3]), last_at=float(row[4]), example=row[5]
    )


def audit_values(entry: AuditEntry) -> tuple[Any, ...]:
    """The values of :data:`AUDIT_INSERT`."""
    return (entry.at, entry.staff, entry.role, entry.action, entry.target, entry.detail)


def decode_audit_cursor(cursor: str | None) -> int:
    """The id an audit page starts below.

    Raises:
        ValueError: The cursor was not made by :func:`audit_page`.
    """
    if cursor is None:
        return _FIRST_PAGE
    if not cursor.isdigit():
        raise ValueError("invalid cursor")
    return int(cursor)


def audit_page(rows: Sequence[Sequence[Any]], limit: int) -> AuditPage:
    """Cut ``limit + 1`` rows of :data:`AUDIT_PAGE` into a page and its next cursor."""
    entries = [
        AuditEntry(at=row[1], staff=row[2], role=row[3], action=row[4], target=row[5], detail=row[6])
        for row in rows[:limit]
    ]
    return AuditPage(entries, str(rows[limit - 1][0]) if len(rows) > limit else None)


def erased_message(message_json: str | bytes) -> str:
    """The stored message (JSON) without contact details or content; channel, vendor choice and Braze ids stay."""
    message = _MESSAGE.decode(message_json)
    erased = msgspec.structs.replace(
        message,
        content=ERASED,
        phone=None,
        email=None,
        subject=None if message.subject is None else ERASED,
        text=None if message.text is None else ERASED,
        buttons=(),
        image_url=None,
    )
    return msgspec.json.encode(erased).decode()


def erased_request(request_json: str | bytes | None) -> str | None:
    """The stored vendor request (JSON) with its body, which carries the recipient and the content, erased."""
    if request_json is None:
        return None
    return msgspec.json.encode(_OBJECT.decode(request_json) | {"body": ERASED}).decode()


def erased_status(status: str) -> str:
    """A message waiting to be sent is suppressed by erasure (nothing is left to send); others keep their status."""
    return Status.SUPPRESSED.value if status in _WAITING else status
