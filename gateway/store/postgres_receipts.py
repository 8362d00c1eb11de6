"""The PostgreSQL side of receipts, the receipt sweep, result polls and Braze feedback.

Mixed into :class:`~gateway.store.postgres.PostgresStore`: each operation is one transaction on one pooled
connection (a single statement runs in autocommit: one round trip). Claims lock rows with
``FOR UPDATE SKIP LOCKED``, so several gateway processes never take the same receipt, poll or feedback row.
"""

from __future__ import annotations

from collections import Counter
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
_RECEIPT_TYPES = ("text",) * 7 + ("double precision",) * 2 + ("text", "double precision", "text")
# One statement for a callback's receipts, inserted in their order (ids are arrival order); a vendor event stored
# before, or twice in the batch, is skipped, and the ones inserted come back.
_INSERT = f"""
INSERT INTO receipts ({RECEIPT_INSERT_COLUMNS})
SELECT {RECEIPT_INSERT_COLUMNS} FROM unnest({", ".join(f"%s::{kind}[]" for kind in _RECEIPT_TYPES)})
    WITH ORDINALITY AS u({RECEIPT_INSERT_COLUMNS}, n)
ORDER BY n
ON CONFLICT (vendor, event_id) DO NOTHING RETURNING vendor, event_id
"""  # noqa: S608 - column lists and casts only
_CLAIM_RECEIPTS = f"""
WITH due AS (
    SELECT id FROM receipts WHERE state = 'pending' AND next_try_at <= %(now)s
    ORDER BY next_try_at, id LIMIT %(limit)s FOR UPDATE SKIP LOCKED
)
UPDATE receipts AS r SET next_try_at = %(until)s FROM due WHERE r.id = due.id
RETURNING {", ".join(f"r.{name.strip()}" for name in RECEIPT_COLUMNS.split(","))}
"""  # noqa: S608
# One statement for a whole batch: by our id, else (for a receipt that found no message that way) the one message with
# the vendor's id; two or more (a batch request's id, docs/ARCHITECTURE.md "Batches") name none. Plain equality
# joins, so that each side is an index lookup per receipt; at most two rows per receipt tell "one" from "several".
_FIND = f"""
WITH q AS (
    SELECT * FROM unnest(%(vendor)s::text[], %(ours)s::text[], %(theirs)s::text[])
        WITH ORDINALITY AS q(vendor, ours, theirs, n)
), by_ours AS (
    SELECT q.n, {message_columns(prefix="m.", json_suffix="::text")}
    FROM q JOIN messages AS m ON m.id = q.ours AND m.vendor = q.vendor
)
SELECT * FROM by_ours
UNION ALL
SELECT q.n, {message_columns(prefix="m.", json_suffix="::text")}
FROM q CROSS JOIN LATERAL (
    SELECT * FROM messages AS m WHERE m.vendor_message_id = q.theirs AND m.vendor = q.vendor LIMIT 2
) AS m
WHERE q.n NOT IN (SELECT n FROM by_ours)
"""  # noqa: S608 - column lists only
# One statement settles a batch in which no receipt and no message comes twice. The receipts still pending and the
# messages named are locked, each in id order (two settling processes hold different receipts, by their claims, and
# take shared messages in the same order, so they cannot deadlock), and read as they are now (READ COMMITTED
# re-reads a row another transaction changed); `ok` holds the settlements that apply whole, and only
# those write: the receipt, the message's move, its timeline event and its Braze report. The answer says, per
# receipt, whether it was written and, if not, what it found.
_SETTLE_MANY = """
WITH s AS (
    SELECT * FROM unnest(
        %(receipt)s::bigint[], %(state)s::text[], %(message)s::text[], %(status)s::text[], %(expect)s::text[],
        %(reason)s::text[], %(report)s::boolean[], %(code)s::text[], %(next)s::double precision[]
    ) WITH ORDINALITY AS s(receipt, state, message, status, expect, reason, report, code, next, n)
), pending AS (
    SELECT id FROM receipts WHERE id = ANY(%(receipt)s::bigint[]) AND state = 'pending' ORDER BY id FOR UPDATE
), target AS (
    SELECT id, status FROM messages WHERE id = ANY(%(message)s::text[]) ORDER BY id FOR UPDATE
), ok AS (
    SELECT s.*, target.status AS current FROM s JOIN pending ON pending.id = s.receipt
    LEFT JOIN target ON target.id = s.message
    WHERE s.message IS NULL OR (target.id IS NOT NULL AND ((s.status IS NULL AND s.reason IS NULL)
        OR s.expect IS NULL OR target.status = ANY(string_to_array(s.expect, ','))))
), moved AS (
    UPDATE messages AS m SET status = ok.status, updated_at = %(now)s, lease_until = NULL, next_attempt_at = ok.next
    FROM ok WHERE m.id = ok.message AND ok.status IS NOT NULL
), settled AS (
    UPDATE receipts AS r SET state = ok.state, message_id = ok.message, settled_at = %(now)s, next_try_at = NULL
    FROM ok WHERE r.id = ok.receipt
), timeline AS (
    INSERT INTO events (message_id, at, status, reason)
    SELECT message, %(now)s, coalesce(status, current), reason FROM ok WHERE reason IS NOT NULL AND message IS NOT NULL
), feedback AS (
    INSERT INTO braze_outbox (message_id, state, vendor_code, at, next_try_at)
    SELECT message, status, code, %(now)s, %(now)s FROM ok WHERE report AND status IS NOT NULL AND message IS NOT NULL
    ON CONFLICT (message_id, state) DO NOTHING
)
SELECT ok.receipt IS NOT NULL, EXISTS (SELECT 1 FROM receipts AS r WHERE r.id = s.receipt),
    pending.id IS NOT NULL, target.status
FROM s LEFT JOIN ok ON ok.receipt = s.receipt LEFT JOIN pending ON pending.id = s.receipt
LEFT JOIN target ON target.id = s.message
ORDER BY s.n
"""
_DEFER = """
UPDATE receipts AS r SET next_try_at = d.at, tries = r.tries + 1
FROM unnest(%s::bigint[], %s::double precision[]) AS d(id, at) WHERE r.id = d.id AND r.state = 'pending'
"""
INSERT_FEEDBACK = (
    "INSERT INTO braze_outbox (message_id, state, vendor_code, at, next_try_at) VALUES (%s, %s, %s, %s, %s) "
    "ON CONFLICT (message_id, state) DO NOTHING"
)
#: The Braze report of the row a statement's ``m`` moved (parameters ``status``, ``code``, ``now``, ``report``).
REPORT_OF_MOVED = """
INSERT INTO braze_outbox (message_id, state, vendor_code, at, next_try_at)
SELECT id, %(status)s, %(code)s::text, %(now)s, %(now)s FROM m WHERE %(report)s
ON CONFLICT (message_id, state) DO NOTHING
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
        """See :meth:`Store.add_receipts`: one statement."""
        if not receipts:
            return []
        columns = [list(column) for column in zip(*(receipt_values(r, now) for r in receipts), strict=True)]
        async with self._autocommit() as conn:
            inserted = {(row[0], row[1]) for row in await (await conn.execute(_INSERT, columns)).fetchall()}
        added: list[bool] = []
        for receipt in receipts:
            key = (receipt.vendor, receipt.event_id)
            added.append(key in inserted)
            inserted.discard(key)  # the same event again later in the batch is a repeat
        return added

    async def claim_receipts(self: _Backend, *, now: float, limit: int, lease: float) -> list[StoredReceipt]:
        """See :meth:`Store.claim_receipts`."""
        async with self._autocommit() as conn:
            cursor = await conn.execute(_CLAIM_RECEIPTS, {"now": now, "limit": limit, "until": now + lease})
            rows = await cursor.fetchall()
        return sorted((stored_receipt(row) for row in rows), key=lambda stored: stored.id)

    async def find_receipt_messages(self: _Backend, receipts: Sequence[Receipt]) -> list[StoredMessage | None]:
        """See :meth:`Store.find_receipt_messages`: one statement."""
        found: list[StoredMessage | None] = [None] * len(receipts)
        if not receipts:
            return found
        params = {
            "vendor": [r.vendor for r in receipts],
            "ours": [r.correlation_id or None for r in receipts],
            "theirs": [r.vendor_message_id or None for r in receipts],
        }
        async with self._autocommit() as conn:
            rows = await (await conn.execute(_FIND, params)).fetchall()
        rows_of = Counter(row[0] for row in rows)
        for row in rows:
            if rows_of[row[0]] == 1:
                found[row[0] - 1] = stored_message(row[1:])
        return found

    async def settle_receipts(
        self: _Backend, settlements: Sequence[tuple[int, Settlement]], *, now: float
    ) -> list[StaleTransition | KeyError | None]:
        """See :meth:`Store.settle_receipts`: one statement per round, all in one transaction.

        A round holds each receipt and each message at most once; a later settlement about the same message goes
        in a later round, so that it sees the earlier one's effect.
        """
        answers: list[StaleTransition | KeyError | None] = [None] * len(settlements)
        rounds = _rounds(settlements)
        if not rounds:
            return answers
        transaction = self._autocommit() if len(rounds) == 1 else self._connection()
        async with transaction as conn:
            for chosen in rounds:
                batch = [settlements[index] for index in chosen]
                rows = await (await conn.execute(_SETTLE_MANY, _settle_params(batch, now))).fetchall()
                for index, (receipt_id, settlement), row in zip(chosen, batch, rows, strict=True):
                    answers[index] = _refusal(receipt_id, settlement, row)
        return answers

    async def defer_receipts(self: _Backend, deferrals: Sequence[tuple[int, float]]) -> None:
        """See :meth:`Store.defer_receipts`."""
        if not deferrals:
            return
        async with self._autocommit() as conn:
            await conn.execute(_DEFER, ([d[0] for d in deferrals], [d[1] for d in deferrals]))

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


def _rounds(settlements: Sequence[tuple[int, Settlement]]) -> list[list[int]]:
    """Indexes of ``settlements`` in rounds: each after every earlier one that names its receipt or its message."""
    level: dict[tuple[str, object], int] = {}
    rounds: list[list[int]] = []
    for index, (receipt_id, settlement) in enumerate(settlements):
        keys = [("receipt", receipt_id), ("message", settlement.message_id)]
        if settlement.message_id is None:
            keys.pop()
        place = max(level.get(key, -1) for key in keys) + 1
        for key in keys:
            level[key] = place
        if place == len(rounds):
            rounds.append([])
        rounds[place].append(index)
    return rounds


def _settle_params(batch: Sequence[tuple[int, Settlement]], now: float) -> dict[str, Any]:
    """The arrays :data:`_SETTLE_MANY` unnests, one element per settlement."""
    settlements = [settlement for _, settlement in batch]
    return {
        "now": now,
        "receipt": [receipt_id for receipt_id, _ in batch],
        "state": [s.state for s in settlements],
        "message": [s.message_id for s in settlements],
        "status": [None if s.status is None else s.status.value for s in settlements],
        "expect": [None if s.expect is None else ",".join(sorted(s.expect)) for s in settlements],
        "reason": [s.reason for s in settlements],
        "report": [s.report is not None for s in settlements],
        "code": [None if s.report is None else s.report.code for s in settlements],
        "next": [s.next_attempt_at for s in settlements],
    }


def _refusal(receipt_id: int, settlement: Settlement, row: Sequence[Any]) -> StaleTransition | KeyError | None:
    """What kept a settlement out, from its row of :data:`_SETTLE_MANY`'s answer (``None``: it was written)."""
    written, exists, pending, current = row
    if written:
        return None
    if not exists:
        return KeyError(receipt_id)
    if not pending:
        return StaleTransition(f"receipt {receipt_id} is no longer pending")
    if current is None:
        return KeyError(settlement.message_id)
    return StaleTransition(
        f"message {settlement.message_id} is {current}, not {'/'.join(sorted(settlement.expect or ()))}"
    )
