"""The PostgreSQL side of receipts, the receipt sweep, result polls and Braze feedback.

Mixed into :class:`~gateway.store.postgres.PostgresStore`: each operation is one transaction on one pooled
connection (a single statement runs in autocommit: one round trip). Claims lock rows with
``FOR UPDATE SKIP LOCKED``, so several gateway processes never take the same receipt, poll or feedback row.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

import psycopg

from gateway.models import Receipt, StoredMessage, StoredReceipt
from gateway.store.base import FeedbackItem, Settlement, StaleTransition
from gateway.store.rows import message_columns, stored_message
from gateway.store.rows_receipts import (
    RECEIPT_COLUMNS,
    RECEIPT_INSERT_COLUMNS,
    feedback_columns,
    feedback_item,
    receipt_values,
    stored_receipt,
)

__all__ = ("INSERT_FEEDBACK", "REPORT_OF_MOVED", "PostgresReceipts", "receipts_for")

_Conn = psycopg.AsyncConnection[Any]
_MESSAGE_COLUMNS = message_columns(json_suffix="::text")
_INSERT = (
    f"INSERT INTO receipts ({RECEIPT_INSERT_COLUMNS}) VALUES ({', '.join(['%s'] * 12)}) "  # noqa: S608
    "ON CONFLICT (vendor, event_id) DO NOTHING RETURNING id"
)
_CLAIM_RECEIPTS = f"""
WITH due AS (
    SELECT id FROM receipts WHERE state = 'pending' AND next_try_at <= %(now)s
    ORDER BY next_try_at, id LIMIT %(limit)s FOR UPDATE SKIP LOCKED
)
UPDATE receipts AS r SET next_try_at = %(until)s FROM due WHERE r.id = due.id
RETURNING {", ".join(f"r.{name.strip()}" for name in RECEIPT_COLUMNS.split(","))}
"""  # noqa: S608
_BY_ID = f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE id = %s AND vendor = %s"  # noqa: S608
_BY_VENDOR_ID = (
    f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE vendor_message_id = %s AND vendor = %s "  # noqa: S608
    "ORDER BY created_at DESC LIMIT 1"
)
_SETTLE = (
    "UPDATE receipts SET state = %s, message_id = %s, settled_at = %s, next_try_at = NULL "
    "WHERE id = %s AND state = 'pending'"
)
INSERT_FEEDBACK = (
    "INSERT INTO braze_outbox (message_id, state, vendor_code, at, next_try_at) VALUES (%s, %s, %s, %s, %s) "
    "ON CONFLICT (message_id, state) DO NOTHING"
)
# One statement each: the row lock makes the check of the expected status and the move (or the note) atomic.
#: The Braze report of the row a statement's ``m`` moved (parameters ``status``, ``code``, ``now``, ``report``).
REPORT_OF_MOVED = """
INSERT INTO braze_outbox (message_id, state, vendor_code, at, next_try_at)
SELECT id, %(status)s, %(code)s::text, %(now)s, %(now)s FROM m WHERE %(report)s
ON CONFLICT (message_id, state) DO NOTHING
"""
_MOVE_AND_NOTE = f"""
WITH m AS (
    UPDATE messages SET status = %(status)s, updated_at = %(now)s, lease_until = NULL, next_attempt_at = %(next)s
    WHERE id = %(id)s AND (%(any)s OR status = ANY(%(expect)s::text[]))
    RETURNING id
), r AS ({REPORT_OF_MOVED}), e AS (
    INSERT INTO events (message_id, at, status, reason)
    SELECT id, %(now)s, %(status)s, %(reason)s::text FROM m WHERE %(reason)s::text IS NOT NULL
)
SELECT id FROM m
"""  # noqa: S608 - fixed statements only
_NOTE = """
INSERT INTO events (message_id, at, status, reason)
SELECT id, %(now)s, status, %(reason)s::text FROM messages
WHERE id = %(id)s AND (%(any)s OR status = ANY(%(expect)s::text[])) FOR UPDATE
RETURNING message_id
"""
# One statement: the moved ids feed the timeline events and (when asked) the feedback rows.
_EXPIRE = """
WITH old AS (
    SELECT id FROM messages WHERE status = 'accepted' AND channel = %(channel)s AND updated_at < %(before)s
    ORDER BY updated_at LIMIT %(limit)s FOR UPDATE SKIP LOCKED
), moved AS (
    UPDATE messages AS m SET status = 'unknown', updated_at = %(now)s, lease_until = NULL, next_attempt_at = NULL
    FROM old WHERE m.id = old.id RETURNING m.id
), timeline AS (
    INSERT INTO events (message_id, at, status, reason) SELECT id, %(now)s, 'unknown', %(reason)s FROM moved
), feedback AS (
    INSERT INTO braze_outbox (message_id, state, vendor_code, at, next_try_at)
    SELECT id, 'unknown', NULL, %(now)s, %(now)s FROM moved WHERE %(feedback)s
    ON CONFLICT (message_id, state) DO NOTHING
)
SELECT id FROM moved
"""
_CLAIM_POLLS = f"""
WITH first_poll AS (
    SELECT id, updated_at AS due_at FROM messages
    WHERE status = 'accepted' AND vendor = %(vendor)s AND channel = %(channel)s AND next_attempt_at IS NULL
        AND updated_at <= %(first_before)s
    ORDER BY updated_at LIMIT %(limit)s FOR UPDATE SKIP LOCKED
), next_poll AS (
    SELECT id, next_attempt_at AS due_at FROM messages
    WHERE status = 'accepted' AND vendor = %(vendor)s AND channel = %(channel)s AND next_attempt_at <= %(now)s
    ORDER BY next_attempt_at LIMIT %(limit)s FOR UPDATE SKIP LOCKED
), chosen AS (
    SELECT id, due_at FROM first_poll UNION ALL SELECT id, due_at FROM next_poll ORDER BY due_at, id LIMIT %(limit)s
)
UPDATE messages AS m SET next_attempt_at = %(next)s FROM chosen WHERE m.id = chosen.id
RETURNING {message_columns(prefix="m.", json_suffix="::text")}, chosen.due_at
"""  # noqa: S608
_CLAIM_FEEDBACK = f"""
WITH due AS (
    SELECT id FROM braze_outbox WHERE sent_at IS NULL AND next_try_at <= %(now)s
    ORDER BY next_try_at, id LIMIT %(limit)s FOR UPDATE SKIP LOCKED
), o AS (
    UPDATE braze_outbox AS b SET next_try_at = %(until)s FROM due WHERE b.id = due.id
    RETURNING b.id, b.message_id, b.state, b.vendor_code, b.at
)
SELECT {feedback_columns(json_suffix="::text")} FROM o JOIN messages AS m ON m.id = o.message_id ORDER BY o.id
"""  # noqa: S608
_RECEIPTS_OF = f"SELECT {RECEIPT_COLUMNS} FROM receipts WHERE message_id = %s ORDER BY id"  # noqa: S608


async def receipts_for(conn: _Conn, message_id: str) -> tuple[StoredReceipt, ...]:
    """The receipts matched to a message, in arrival order."""
    cursor = await conn.execute(_RECEIPTS_OF, (message_id,))
    return tuple(stored_receipt(row) for row in await cursor.fetchall())


class _Backend(Protocol):
    """What the mixin needs of :class:`~gateway.store.postgres.PostgresStore`."""

    def _connection(self) -> AbstractAsyncContextManager[_Conn]: ...

    def _autocommit(self) -> AbstractAsyncContextManager[_Conn]: ...


class PostgresReceipts:
    """The receipt, sweep, poll and feedback methods of :class:`~gateway.store.base.Store` on PostgreSQL."""

    async def add_receipts(self: _Backend, receipts: Sequence[Receipt], *, now: float) -> list[bool]:
        """See :meth:`Store.add_receipts`."""
        if not receipts:
            return []
        added: list[bool] = []
        async with self._connection() as conn, conn.cursor() as cursor:
            await cursor.executemany(_INSERT, [receipt_values(r, now) for r in receipts], returning=True)
            while True:
                added.append(await cursor.fetchone() is not None)
                if not cursor.nextset():
                    break
        return added

    async def claim_receipts(self: _Backend, *, now: float, limit: int, lease: float) -> list[StoredReceipt]:
        """See :meth:`Store.claim_receipts`."""
        async with self._autocommit() as conn:
            cursor = await conn.execute(_CLAIM_RECEIPTS, {"now": now, "limit": limit, "until": now + lease})
            rows = await cursor.fetchall()
        return sorted((stored_receipt(row) for row in rows), key=lambda stored: stored.id)

    async def find_receipt_message(self: _Backend, receipt: Receipt) -> StoredMessage | None:
        """See :meth:`Store.find_receipt_message`."""
        async with self._autocommit() as conn:
            row = None
            if receipt.correlation_id:
                row = await (await conn.execute(_BY_ID, (receipt.correlation_id, receipt.vendor))).fetchone()
            if row is None and receipt.vendor_message_id:
                cursor = await conn.execute(_BY_VENDOR_ID, (receipt.vendor_message_id, receipt.vendor))
                row = await cursor.fetchone()
        return None if row is None else stored_message(row)

    async def settle_receipt(self: _Backend, receipt_id: int, settlement: Settlement, *, now: float) -> None:
        """See :meth:`Store.settle_receipt`; the message row lock makes the check and the move atomic."""
        async with self._connection() as conn:
            settled = await conn.execute(_SETTLE, (settlement.state, settlement.message_id, now, receipt_id))
            if settled.rowcount == 0:
                row = await (await conn.execute("SELECT state FROM receipts WHERE id = %s", (receipt_id,))).fetchone()
                if row is None:
                    raise KeyError(receipt_id)
                raise StaleTransition(f"receipt {receipt_id} is already {row[0]}")
            await _apply(conn, settlement, now)

    async def defer_receipt(self: _Backend, receipt_id: int, *, next_try_at: float) -> None:
        """See :meth:`Store.defer_receipt`."""
        async with self._autocommit() as conn:
            await conn.execute(
                "UPDATE receipts SET next_try_at = %s, tries = tries + 1 WHERE id = %s AND state = 'pending'",
                (next_try_at, receipt_id),
            )

    async def expire_accepted(
        self: _Backend, channel: str, accepted_before: float, reason: str, *, now: float, limit: int, feedback: bool
    ) -> list[str]:
        """See :meth:`Store.expire_accepted`."""
        params = {
            "channel": channel,
            "before": accepted_before,
            "limit": limit,
            "now": now,
            "reason": reason,
            "feedback": feedback,
        }
        async with self._autocommit() as conn:
            cursor = await conn.execute(_EXPIRE, params)
            return [row[0] for row in await cursor.fetchall()]

    async def claim_result_polls(
        self: _Backend, *, vendor: str, channel: str, now: float, interval: float, limit: int
    ) -> list[StoredMessage]:
        """See :meth:`Store.claim_result_polls`."""
        params = {
            "vendor": vendor,
            "channel": channel,
            "now": now,
            "first_before": now - interval,
            "limit": limit,
            "next": now + interval,
        }
        async with self._autocommit() as conn:
            rows = await (await conn.execute(_CLAIM_POLLS, params)).fetchall()
        rows.sort(key=lambda row: (row[-1], row[0]))
        return [stored_message(row) for row in rows]

    async def claim_feedback(self: _Backend, *, now: float, limit: int, lease: float) -> list[FeedbackItem]:
        """See :meth:`Store.claim_feedback`."""
        async with self._autocommit() as conn:
            cursor = await conn.execute(_CLAIM_FEEDBACK, {"now": now, "limit": limit, "until": now + lease})
            return [feedback_item(row) for row in await cursor.fetchall()]

    async def feedback_sent(self: _Backend, ids: Sequence[int], *, now: float) -> None:
        """See :meth:`Store.feedback_sent`."""
        async with self._autocommit() as conn:
            await conn.execute("UPDATE braze_outbox SET sent_at = %s WHERE id = ANY(%s)", (now, list(ids)))

    async def feedback_failed(self: _Backend, ids: Sequence[int], *, next_try_at: float) -> None:
        """See :meth:`Store.feedback_failed`."""
        async with self._autocommit() as conn:
            await conn.execute(
                "UPDATE braze_outbox SET next_try_at = %s, tries = tries + 1 WHERE id = ANY(%s) AND sent_at IS NULL",
                (next_try_at, list(ids)),
            )


async def _apply(conn: _Conn, settlement: Settlement, now: float) -> None:
    """Apply a settled receipt to its message: the status move, its feedback row and the timeline event."""
    message_id = settlement.message_id
    if message_id is None or (settlement.status is None and settlement.reason is None):
        return
    params = {
        "id": message_id,
        "now": now,
        "any": settlement.expect is None,
        "expect": sorted(settlement.expect or ()),
        "status": None if settlement.status is None else settlement.status.value,
        "reason": settlement.reason,
        "report": settlement.report is not None,
        "code": None if settlement.report is None else settlement.report.code,
        "next": settlement.next_attempt_at,
    }
    statement = _NOTE if settlement.status is None else _MOVE_AND_NOTE
    if await (await conn.execute(statement, params)).fetchone() is not None:
        return
    row = await (await conn.execute("SELECT status FROM messages WHERE id = %s", (message_id,))).fetchone()
    if row is None:
        raise KeyError(message_id)
    raise StaleTransition(f"message {message_id} is {row[0]}, not {'/'.join(sorted(settlement.expect or ()))}")
