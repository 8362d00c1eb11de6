"""The SQLite side of receipts, the receipt sweep, result polls and Braze feedback.

The module functions run on the store's threads: writes on the writer inside a group-commit batch (each in its
own savepoint), reads on the reader. :class:`SqliteReceipts` is the part of
:class:`~gateway.store.sqlite.SqliteStore` that queues them.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from gateway.models import Receipt, Status, StoredMessage, StoredReceipt
from gateway.store.base import FeedbackItem, Settlement, StaleTransition
from gateway.store.rows import encode_json, message_columns, stored_message
from gateway.store.rows_receipts import (
    RECEIPT_COLUMNS,
    RECEIPT_INSERT_COLUMNS,
    feedback_columns,
    feedback_item,
    receipt_values,
    stored_receipt,
)

__all__ = (
    "SqliteReceipts",
    "add_feedback",
    "add_receipts",
    "claim_feedback",
    "claim_receipts",
    "claim_result_polls",
    "defer_receipts",
    "expire_accepted",
    "feedback_failed",
    "feedback_sent",
    "find_receipt_messages",
    "receipts_for",
    "settle_receipts",
)

_T = TypeVar("_T")
_INSERT = (
    f"INSERT INTO receipts ({RECEIPT_INSERT_COLUMNS}) VALUES ({', '.join('?' * 12)}) "  # noqa: S608
    "ON CONFLICT (vendor, event_id) DO NOTHING RETURNING id"
)
_DUE_RECEIPTS = (
    "SELECT id FROM receipts INDEXED BY receipts_pending WHERE state = 'pending' AND next_try_at <= ? "
    "ORDER BY next_try_at, id LIMIT ?"
)
_TAKE_RECEIPTS = (
    "UPDATE receipts SET next_try_at = ? WHERE id IN (SELECT value FROM json_each(?)) "  # noqa: S608
    f"RETURNING {RECEIPT_COLUMNS}"
)
_BY_IDS = f"SELECT {message_columns()} FROM messages WHERE id IN (SELECT value FROM json_each(?))"  # noqa: S608
# Only a vendor id that names one message: a batch request's id (NHN's requestId, SendGrid's X-Message-Id) is every
# one of its messages' (docs/ARCHITECTURE.md, "Batches"). SQLite returns the bare columns of that one row.
_BY_VENDOR_IDS = (
    f"SELECT {message_columns()} FROM messages INDEXED BY messages_vendor_message "  # noqa: S608
    "WHERE vendor_message_id IN (SELECT value FROM json_each(?)) AND vendor_message_id IS NOT NULL "
    "GROUP BY vendor_message_id, vendor HAVING count(*) = 1"
)
_SETTLE = (
    "UPDATE receipts SET state = ?, message_id = ?, settled_at = ?, next_try_at = NULL "
    "WHERE id = ? AND state = 'pending'"
)
_MOVE = (
    "UPDATE messages SET status = ?, updated_at = ?, lease_until = NULL, next_attempt_at = ? "
    "WHERE id = ? AND status = ?"
)
_INSERT_EVENT = "INSERT INTO events (message_id, at, status, reason) VALUES (?, ?, ?, ?)"
_INSERT_FEEDBACK = (
    "INSERT INTO braze_outbox (message_id, state, vendor_code, at, next_try_at) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (message_id, state) DO NOTHING"
)
_ACCEPTED_BEFORE = (
    "SELECT id FROM messages INDEXED BY messages_accepted WHERE status = 'accepted' AND channel = ? "
    "AND updated_at < ? ORDER BY updated_at LIMIT ?"
)
_POLL_FIRST = (
    "SELECT id, updated_at FROM messages INDEXED BY messages_result_poll WHERE status = 'accepted' "
    "AND vendor = ? AND channel = ? AND next_attempt_at IS NULL AND updated_at <= ? "
    "ORDER BY updated_at LIMIT ?"
)
_POLL_AGAIN = (
    "SELECT id, next_attempt_at FROM messages INDEXED BY messages_result_poll WHERE status = 'accepted' "
    "AND vendor = ? AND channel = ? AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?"
)
_TAKE_POLLS = (
    "UPDATE messages SET next_attempt_at = ? WHERE id IN (SELECT value FROM json_each(?)) "  # noqa: S608
    f"RETURNING {message_columns()}"
)
_DUE_FEEDBACK = (
    "SELECT id FROM braze_outbox INDEXED BY braze_outbox_due WHERE sent_at IS NULL AND next_try_at <= ? "
    "ORDER BY next_try_at, id LIMIT ?"
)
_FEEDBACK = (
    f"SELECT {feedback_columns()} FROM braze_outbox o JOIN messages m ON m.id = o.message_id "  # noqa: S608
    "WHERE o.id IN (SELECT value FROM json_each(?)) ORDER BY o.id"
)
_RECEIPTS_OF = f"SELECT {RECEIPT_COLUMNS} FROM receipts WHERE message_id = ? ORDER BY id"  # noqa: S608


def add_receipts(conn: sqlite3.Connection, receipts: Sequence[Receipt], *, now: float) -> list[bool]:
    """Insert new receipts; return, per receipt, whether it was new."""
    return [conn.execute(_INSERT, receipt_values(receipt, now)).fetchone() is not None for receipt in receipts]


def claim_receipts(conn: sqlite3.Connection, *, now: float, limit: int, lease: float) -> list[StoredReceipt]:
    """Take due pending receipts (see :meth:`Store.claim_receipts`)."""
    ids = [row[0] for row in conn.execute(_DUE_RECEIPTS, (now, limit))]
    if not ids:
        return []
    rows = conn.execute(_TAKE_RECEIPTS, (now + lease, encode_json(ids))).fetchall()
    return sorted((stored_receipt(row) for row in rows), key=lambda stored: stored.id)


def find_receipt_messages(conn: sqlite3.Connection, receipts: Sequence[Receipt]) -> list[StoredMessage | None]:
    """The message each receipt reports on (see :meth:`Store.find_receipt_messages`)."""
    ours = {receipt.correlation_id for receipt in receipts if receipt.correlation_id}
    by_id = {record.id: record for record in _messages(conn, _BY_IDS, ours)}
    found: list[StoredMessage | None] = []
    for receipt in receipts:
        record = by_id.get(receipt.correlation_id or "")
        found.append(record if record is not None and record.vendor == receipt.vendor else None)
    unmatched = [r for r, record in zip(receipts, found, strict=True) if record is None]
    theirs = {r.vendor_message_id for r in unmatched if r.vendor_message_id}
    if theirs:
        by_vendor_id = {(m.vendor_message_id, m.vendor): m for m in _messages(conn, _BY_VENDOR_IDS, theirs)}
        for index, receipt in enumerate(receipts):
            if found[index] is None:
                found[index] = by_vendor_id.get((receipt.vendor_message_id, receipt.vendor))
    return found


def _messages(conn: sqlite3.Connection, query: str, ids: set[str]) -> list[StoredMessage]:
    if not ids:
        return []
    return [stored_message(row) for row in conn.execute(query, (encode_json(sorted(ids)),))]


def settle_receipts(
    conn: sqlite3.Connection, settlements: Sequence[tuple[int, Settlement]], *, now: float
) -> list[StaleTransition | KeyError | None]:
    """Settle receipts and apply them to their messages, each on its own (see :meth:`Store.settle_receipts`)."""
    return [_settle(conn, receipt_id, settlement, now) for receipt_id, settlement in settlements]


def _settle(
    conn: sqlite3.Connection, receipt_id: int, settlement: Settlement, now: float
) -> StaleTransition | KeyError | None:
    """Settle one receipt; every check comes before the first write, so a refused one writes nothing.

    The writer thread holds the database's only write transaction, so nothing changes between check and write.
    """
    message_id = settlement.message_id
    touches = settlement.status is not None or settlement.reason is not None
    current: Status | None = None
    if message_id is not None:
        row = conn.execute("SELECT status FROM messages WHERE id = ?", (message_id,)).fetchone()
        if row is None:
            return KeyError(message_id)
        current = Status(row[0])
        if touches and settlement.expect is not None and current not in settlement.expect:
            return StaleTransition(f"message {message_id} is {current}, not {'/'.join(sorted(settlement.expect))}")
    if conn.execute(_SETTLE, (settlement.state, message_id, now, receipt_id)).rowcount == 0:
        row = conn.execute("SELECT state FROM receipts WHERE id = ?", (receipt_id,)).fetchone()
        return KeyError(receipt_id) if row is None else StaleTransition(f"receipt {receipt_id} is already {row[0]}")
    if message_id is None or current is None or not touches:
        return None
    status = settlement.status or current
    if settlement.status is not None:
        conn.execute(_MOVE, (status.value, now, settlement.next_attempt_at, message_id, current.value))
        if settlement.report is not None:
            add_feedback(conn, message_id, status, code=settlement.report.code, now=now)
    if settlement.reason is not None:
        conn.execute(_INSERT_EVENT, (message_id, now, status.value, settlement.reason))
    return None


def defer_receipts(conn: sqlite3.Connection, deferrals: Sequence[tuple[int, float]]) -> None:
    """Leave receipts pending until their next try (see :meth:`Store.defer_receipts`)."""
    conn.executemany(
        "UPDATE receipts SET next_try_at = ?, tries = tries + 1 WHERE id = ? AND state = 'pending'",
        [(next_try_at, receipt_id) for receipt_id, next_try_at in deferrals],
    )


def expire_accepted(
    conn: sqlite3.Connection,
    channel: str,
    accepted_before: float,
    reason: str,
    *,
    now: float,
    limit: int,
    feedback: bool,
) -> list[str]:
    """Move long-accepted messages to ``unknown`` (see :meth:`Store.expire_accepted`)."""
    ids = [row[0] for row in conn.execute(_ACCEPTED_BEFORE, (channel, accepted_before, limit))]
    unknown = Status.UNKNOWN.value
    conn.executemany(_MOVE, [(unknown, now, None, message_id, Status.ACCEPTED.value) for message_id in ids])
    conn.executemany(_INSERT_EVENT, [(message_id, now, unknown, reason) for message_id in ids])
    if feedback:
        conn.executemany(_INSERT_FEEDBACK, [(message_id, unknown, None, now, now) for message_id in ids])
    return ids


def claim_result_polls(
    conn: sqlite3.Connection, *, vendor: str, channel: str, now: float, interval: float, limit: int
) -> list[StoredMessage]:
    """Take accepted messages of a polled product due for a result poll (see :meth:`Store.claim_result_polls`)."""
    due = conn.execute(_POLL_FIRST, (vendor, channel, now - interval, limit)).fetchall()
    due += conn.execute(_POLL_AGAIN, (vendor, channel, now, limit)).fetchall()
    chosen = [row[0] for row in sorted(due, key=lambda row: (row[1], row[0]))[:limit]]
    if not chosen:
        return []
    rows = conn.execute(_TAKE_POLLS, (now + interval, encode_json(chosen))).fetchall()
    order = {message_id: position for position, message_id in enumerate(chosen)}
    return sorted((stored_message(row) for row in rows), key=lambda record: order[record.id])


def add_feedback(conn: sqlite3.Connection, message_id: str, status: Status, *, code: str | None, now: float) -> None:
    """Queue a Braze feedback row unless (message, status) has one."""
    try:
        conn.execute(_INSERT_FEEDBACK, (message_id, status.value, code, now, now))
    except sqlite3.IntegrityError as exc:  # the foreign key: no such message
        raise KeyError(message_id) from exc


def claim_feedback(conn: sqlite3.Connection, *, now: float, limit: int, lease: float) -> list[FeedbackItem]:
    """Take due feedback rows with their messages (see :meth:`Store.claim_feedback`)."""
    ids = encode_json([row[0] for row in conn.execute(_DUE_FEEDBACK, (now, limit))])
    conn.execute(
        "UPDATE braze_outbox SET next_try_at = ? WHERE id IN (SELECT value FROM json_each(?))", (now + lease, ids)
    )
    return [feedback_item(row) for row in conn.execute(_FEEDBACK, (ids,))]


def feedback_sent(conn: sqlite3.Connection, ids: Sequence[int], *, now: float) -> None:
    """Mark feedback rows as reported."""
    conn.execute(
        "UPDATE braze_outbox SET sent_at = ? WHERE id IN (SELECT value FROM json_each(?))", (now, encode_json(ids))
    )


def feedback_failed(conn: sqlite3.Connection, ids: Sequence[int], *, next_try_at: float) -> None:
    """Make unsent feedback rows due again later."""
    conn.execute(
        "UPDATE braze_outbox SET next_try_at = ?, tries = tries + 1 "
        "WHERE id IN (SELECT value FROM json_each(?)) AND sent_at IS NULL",
        (next_try_at, encode_json(ids)),
    )


def receipts_for(conn: sqlite3.Connection, message_id: str) -> tuple[StoredReceipt, ...]:
    """The receipts matched to a message, in arrival order."""
    return tuple(stored_receipt(row) for row in conn.execute(_RECEIPTS_OF, (message_id,)))


class _Backend(Protocol):
    """What :class:`SqliteReceipts` needs of the store it is part of."""

    async def _write(self, op: Callable[[sqlite3.Connection], object]) -> Any: ...

    async def _read(self, op: Callable[[sqlite3.Connection], _T]) -> _T: ...


class SqliteReceipts:
    """The receipt, sweep, poll and feedback methods of :class:`~gateway.store.base.Store` on SQLite."""

    async def add_receipts(self: _Backend, receipts: Sequence[Receipt], *, now: float) -> list[bool]:
        """See :meth:`Store.add_receipts`."""
        if not receipts:
            return []
        added: list[bool] = await self._write(functools.partial(add_receipts, receipts=receipts, now=now))
        return added

    async def claim_receipts(self: _Backend, *, now: float, limit: int, lease: float) -> list[StoredReceipt]:
        """See :meth:`Store.claim_receipts`."""
        claimed: list[StoredReceipt] = await self._write(
            functools.partial(claim_receipts, now=now, limit=limit, lease=lease)
        )
        return claimed

    async def find_receipt_messages(self: _Backend, receipts: Sequence[Receipt]) -> list[StoredMessage | None]:
        """See :meth:`Store.find_receipt_messages`."""
        if not receipts:
            return []
        return await self._read(functools.partial(find_receipt_messages, receipts=receipts))

    async def settle_receipts(
        self: _Backend, settlements: Sequence[tuple[int, Settlement]], *, now: float
    ) -> list[StaleTransition | KeyError | None]:
        """See :meth:`Store.settle_receipts`: one operation of the group commit."""
        if not settlements:
            return []
        settled: list[StaleTransition | KeyError | None] = await self._write(
            functools.partial(settle_receipts, settlements=settlements, now=now)
        )
        return settled

    async def defer_receipts(self: _Backend, deferrals: Sequence[tuple[int, float]]) -> None:
        """See :meth:`Store.defer_receipts`."""
        if deferrals:
            await self._write(functools.partial(defer_receipts, deferrals=deferrals))

    async def expire_accepted(
        self: _Backend, channel: str, accepted_before: float, reason: str, *, now: float, limit: int, feedback: bool
    ) -> list[str]:
        """See :meth:`Store.expire_accepted`."""
        expired: list[str] = await self._write(
            functools.partial(
                expire_accepted,
                channel=channel,
                accepted_before=accepted_before,
                reason=reason,
                now=now,
                limit=limit,
                feedback=feedback,
            )
        )
        return expired

    async def claim_result_polls(
        self: _Backend, *, vendor: str, channel: str, now: float, interval: float, limit: int
    ) -> list[StoredMessage]:
        """See :meth:`Store.claim_result_polls`."""
        claimed: list[StoredMessage] = await self._write(
            functools.partial(
                claim_result_polls, vendor=vendor, channel=channel, now=now, interval=interval, limit=limit
            )
        )
        return claimed

    async def claim_feedback(self: _Backend, *, now: float, limit: int, lease: float) -> list[FeedbackItem]:
        """See :meth:`Store.claim_feedback`."""
        claimed: list[FeedbackItem] = await self._write(
            functools.partial(claim_feedback, now=now, limit=limit, lease=lease)
        )
        return claimed

    async def feedback_sent(self: _Backend, ids: Sequence[int], *, now: float) -> None:
        """See :meth:`Store.feedback_sent`."""
        await self._write(functools.partial(feedback_sent, ids=ids, now=now))

    async def feedback_failed(self: _Backend, ids: Sequence[int], *, next_try_at: float) -> None:
        """See :meth:`Store.feedback_failed`."""
        await self._write(functools.partial(feedback_failed, ids=ids, next_try_at=next_try_at))
