"""A batch request's writes on PostgreSQL: mixed into :class:`~gateway.store.postgres.PostgresStore`.

Each call is one statement over arrays (``unnest``), in one round trip, however many messages the batch has
(docs/ARCHITECTURE.md, "Batches"). The rows are locked in id order first (a ``MATERIALIZED`` CTE, read whole
before the update uses it): two multi-row updates of the same messages (a batch's settlement and the lease
heartbeat, which locks in the same order) then never wait for each other in a cycle.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

import psycopg

from gateway.models import Attempt, NewMessage
from gateway.store.base import AttemptEntry, Transition
from gateway.store.rows import ATTEMPT_COLUMNS, INSERT_COLUMNS, attempt_from_row, encode_json, insert_values

__all__ = ("INSERT_EVENT", "INSERT_MESSAGE", "MESSAGE_VALUES", "UPSERT_KEY", "PostgresBatches")

_Conn = psycopg.AsyncConnection[Any]
#: The placeholders of INSERT_COLUMNS (the message column is JSON).
MESSAGE_VALUES = ", ".join(["%s"] * 14 + ["%s::jsonb", "%s", "%s"])
INSERT_MESSAGE = f"INSERT INTO messages ({INSERT_COLUMNS}) VALUES ({MESSAGE_VALUES})"  # noqa: S608
INSERT_EVENT = "INSERT INTO events (message_id, at, status, reason) VALUES (%s, %s, %s, %s)"
UPSERT_KEY = (
    "INSERT INTO idempotency_keys (key, message_id, created_at) VALUES (%s, %s, %s) "
    "ON CONFLICT (key) DO UPDATE SET message_id = excluded.message_id, created_at = excluded.created_at"
)
# The attempt columns as unnest arrays, named as in ATTEMPT_COLUMNS.
_ATTEMPT_ARRAYS = (
    "%(number)s::integer[], %(started_at)s::double precision[], %(duration_ms)s::double precision[], "
    "%(outcome)s::text[], %(http_status)s::integer[], %(vendor_code)s::text[], %(detail)s::text[]"
)
_ATTEMPT_FROM_T = ", ".join(f"t.{name.strip()}" for name in ATTEMPT_COLUMNS.split(","))
_LOCKED = "SELECT id FROM messages WHERE id = ANY(%(ids)s::text[]) ORDER BY id FOR UPDATE"
_TRANSITION_MANY = f"""
WITH t AS (
    SELECT * FROM unnest(
        %(ids)s::text[], %(status)s::text[], %(reason)s::text[], %(next)s::double precision[], %(counted)s::integer[],
        %(vendor_id)s::text[], %(request)s::text[], %(expect)s::text[], %(child)s::text[], %(report)s::boolean[],
        %(code)s::text[], {_ATTEMPT_ARRAYS}
    ) AS t(id, status, reason, next, counted, vendor_id, request, expect, child, report, code, {ATTEMPT_COLUMNS})
), locked AS MATERIALIZED ({_LOCKED}), m AS (
    UPDATE messages AS x SET status = t.status, updated_at = %(now)s, lease_until = NULL, next_attempt_at = t.next,
        attempt_count = x.attempt_count + t.counted, vendor_message_id = coalesce(t.vendor_id, x.vendor_message_id),
        vendor_request = coalesce(t.request::jsonb, x.vendor_request),
        send_started_at = CASE WHEN t.status = 'unknown' THEN x.send_started_at END,
        child_id = coalesce(t.child, x.child_id)
    FROM t WHERE x.id = t.id AND x.id IN (SELECT id FROM locked)
        AND (t.expect IS NULL OR x.status = ANY(string_to_array(t.expect, ',')))
        AND (t.child IS NULL OR x.child_id IS NULL)
    RETURNING x.id
), e AS (
    INSERT INTO events (message_id, at, status, reason)
    SELECT t.id, %(now)s, t.status, t.reason FROM t JOIN m USING (id)
), a AS (
    INSERT INTO attempts (message_id, {ATTEMPT_COLUMNS})
    SELECT t.id, {_ATTEMPT_FROM_T} FROM t JOIN m USING (id) WHERE t.number IS NOT NULL
), r AS (
    INSERT INTO braze_outbox (message_id, state, vendor_code, at, next_try_at)
    SELECT t.id, t.status, t.code, %(now)s, %(now)s FROM t JOIN m USING (id) WHERE t.report
    ON CONFLICT (message_id, state) DO NOTHING
)
SELECT id FROM m
"""  # noqa: S608 - column lists and placeholders only
_RECORD_ATTEMPTS = f"""
WITH t AS (
    SELECT * FROM unnest(%(ids)s::text[], %(reason)s::text[], %(request)s::text[], {_ATTEMPT_ARRAYS})
        AS t(id, reason, request, {ATTEMPT_COLUMNS})
), locked AS MATERIALIZED ({_LOCKED}), m AS (
    UPDATE messages AS x SET attempt_count = x.attempt_count + 1, updated_at = %(now)s, send_started_at = NULL,
        vendor_request = coalesce(t.request::jsonb, x.vendor_request)
    FROM t WHERE x.id = t.id AND x.id IN (SELECT id FROM locked)
    RETURNING x.id, x.status
), a AS (
    INSERT INTO attempts (message_id, {ATTEMPT_COLUMNS}) SELECT t.id, {_ATTEMPT_FROM_T} FROM t JOIN m USING (id)
)
INSERT INTO events (message_id, at, status, reason) SELECT t.id, %(now)s, m.status, t.reason FROM t JOIN m USING (id)
"""  # noqa: S608 - column lists and placeholders only
_LAST_ATTEMPTS = (
    f"SELECT DISTINCT ON (message_id) message_id, {ATTEMPT_COLUMNS} FROM attempts "  # noqa: S608
    "WHERE message_id = ANY(%s) ORDER BY message_id, id DESC"
)
_BEGIN_SEND_MANY = (
    "UPDATE messages SET send_started_at = %(now)s WHERE id IN (SELECT id FROM messages "
    "WHERE id = ANY(%(ids)s::text[]) AND status = 'sending' ORDER BY id FOR UPDATE)"
)


class _Backend(Protocol):
    def _connection(self) -> AbstractAsyncContextManager[_Conn]: ...

    def _autocommit(self) -> AbstractAsyncContextManager[_Conn]: ...


class PostgresBatches:
    """The writes of a batch request, each in one statement (see :class:`~gateway.store.base.Store`)."""

    async def begin_send_many(self: _Backend, message_ids: Sequence[str], *, now: float) -> None:
        """See :meth:`Store.begin_send_many`."""
        async with self._autocommit() as conn:
            await conn.execute(_BEGIN_SEND_MANY, {"ids": list(message_ids), "now": now})

    async def last_attempts(self: _Backend, message_ids: Sequence[str]) -> dict[str, Attempt]:
        """See :meth:`Store.last_attempts`: one statement on the index of each message's attempts."""
        async with self._autocommit() as conn:
            rows = await (await conn.execute(_LAST_ATTEMPTS, (list(message_ids),))).fetchall()
        return {row[0]: attempt_from_row(row[1:]) for row in rows}

    async def transition_many(self: _Backend, transitions: Sequence[Transition], *, now: float) -> list[bool]:
        """See :meth:`Store.transition_many`: one statement, and the fallbacks' new messages in the same transaction."""
        if not transitions:
            return []
        params: dict[str, Any] = {
            "now": now,
            "ids": [move.message_id for move in transitions],
            "status": [move.status.value for move in transitions],
            "reason": [move.reason for move in transitions],
            "next": [move.next_attempt_at for move in transitions],
            "counted": [0 if move.attempt is None else 1 for move in transitions],
            "vendor_id": [move.vendor_message_id for move in transitions],
            "request": [_json(move.vendor_request) for move in transitions],
            "expect": [None if move.expect is None else ",".join(sorted(move.expect)) for move in transitions],
            "child": [None if move.fallback is None else move.fallback.id for move in transitions],
            "report": [move.report is not None for move in transitions],
            "code": [None if move.report is None else move.report.code for move in transitions],
            **_attempt_arrays([move.attempt for move in transitions]),
        }
        # Alone in autocommit (one round trip) unless fallbacks add their messages after it, in its transaction.
        falls_back = any(move.fallback is not None for move in transitions)
        async with self._connection() if falls_back else self._autocommit() as conn:
            rows = await (await conn.execute(_TRANSITION_MANY, params)).fetchall()
            moved = {row[0] for row in rows}
            children = [move.fallback for move in transitions if move.fallback is not None and move.message_id in moved]
            if children:
                await _insert_children(conn, children)
        return [move.message_id in moved for move in transitions]

    async def record_attempts(self: _Backend, entries: Sequence[AttemptEntry], *, now: float) -> None:
        """See :meth:`Store.record_attempts`: one statement."""
        if not entries:
            return
        params: dict[str, Any] = {
            "now": now,
            "ids": [entry.message_id for entry in entries],
            "reason": [entry.reason for entry in entries],
            "request": [_json(entry.vendor_request) for entry in entries],
            **_attempt_arrays([entry.attempt for entry in entries]),
        }
        async with self._autocommit() as conn:
            await conn.execute(_RECORD_ATTEMPTS, params)


async def _insert_children(conn: _Conn, children: Sequence[NewMessage]) -> None:
    """Add fallback messages with their first event and idempotency key (each linked to its ``parent_id``)."""
    async with conn.cursor() as cursor:
        await cursor.executemany(INSERT_MESSAGE, [insert_values(child, child.parent_id) for child in children])
        await cursor.executemany(
            INSERT_EVENT, [(child.id, child.created_at, child.status.value, child.reason) for child in children]
        )
        await cursor.executemany(
            UPSERT_KEY, [(child.idempotency_key, child.id, child.created_at) for child in children]
        )


def _json(value: dict[str, object] | None) -> str | None:
    return None if value is None else encode_json(value)


def _attempt_arrays(attempts: Sequence[Attempt | None]) -> dict[str, list[Any]]:
    """The attempt columns as arrays (``NULL`` where there is no attempt)."""
    return {
        "number": [None if a is None else a.number for a in attempts],
        "started_at": [None if a is None else a.started_at for a in attempts],
        "duration_ms": [None if a is None else a.duration_ms for a in attempts],
        "outcome": [None if a is None else a.outcome for a in attempts],
        "http_status": [None if a is None else a.http_status for a in attempts],
        "vendor_code": [None if a is None else a.vendor_code for a in attempts],
        "detail": [None if a is None else a.detail for a in attempts],
    }
