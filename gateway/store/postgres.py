"""The PostgreSQL backend: several gateway processes on several machines share one database.

psycopg 3 async with a connection pool. Claims lock rows with ``FOR UPDATE SKIP LOCKED``, so concurrent claimers
never take the same message and never wait for each other. Each call is one transaction on one pooled connection;
a database that cannot be reached raises :class:`StoreUnavailable`.

See docs/ARCHITECTURE.md, "The store".
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from gateway.models import Attempt, MessageDetail, NewMessage, Status, StoredMessage
from gateway.store.base import AddResult, MessageFilter, Page, Report, StaleTransition, StoreUnavailable
from gateway.store.gates_postgres import PostgresGates
from gateway.store.group import AddOp, GroupCommit
from gateway.store.images import PostgresImages
from gateway.store.migrator import migrate_postgres
from gateway.store.postgres_admin import PostgresAdmin
from gateway.store.postgres_batches import (
    INSERT_EVENT,
    INSERT_MESSAGE,
    UPSERT_KEY,
    PostgresBatches,
)
from gateway.store.postgres_campaigns import PostgresCampaigns
from gateway.store.postgres_receipts import INSERT_FEEDBACK, REPORT_OF_MOVED, PostgresReceipts, receipts_for
from gateway.store.refusals import PostgresRefusals
from gateway.store.rows import (
    ATTEMPT_COLUMNS,
    EVENT_COLUMNS,
    INSERT_COLUMNS,
    attempt_from_row,
    attempt_values,
    encode_json,
    event_from_row,
    insert_values,
    message_columns,
    route_keys,
    stored_message,
)
from gateway.store.search import page_from, search_query

__all__ = ("CLAIM_SQL", "PostgresStore")

_Conn = psycopg.AsyncConnection[Any]
_COLUMNS = message_columns(json_suffix="::text")
_ADD_COLUMNS = INSERT_COLUMNS.split(", ")
#: The values each of :data:`INSERT_COLUMNS` is unnested from (``message`` as JSON text, ``raw_body`` bytes).
_ADD_TYPES = ["text"] * 11 + ["float8"] * 3 + ["text", "bytea", "text"]
_FLOAT_COLUMNS = (11, 12, 13)
# A batch of adds in one statement: the key rows first (written only when new or older than the window; ON CONFLICT
# locks an existing row either way, so a concurrent add of the same key waits and then sees this one), then the
# messages whose key was written, then their first timeline row. Returns the ids of the messages written.
_ADD_BATCH = f"""
WITH input AS (
    SELECT * FROM unnest({", ".join(f"%b::{kind}[]" for kind in _ADD_TYPES)}, %b::text[])
        AS t({INSERT_COLUMNS}, reason)
), k AS (
    INSERT INTO idempotency_keys (key, message_id, created_at) SELECT idempotency_key, id, created_at FROM input
    ON CONFLICT (key) DO UPDATE SET message_id = excluded.message_id, created_at = excluded.created_at
    WHERE idempotency_keys.created_at < excluded.created_at - %s::float8
    RETURNING message_id
), m AS (
    INSERT INTO messages ({INSERT_COLUMNS})
    SELECT {", ".join("message::jsonb" if name == "message" else name for name in _ADD_COLUMNS)} FROM input
    WHERE id IN (SELECT message_id FROM k)
    RETURNING id
)
INSERT INTO events (message_id, at, status, reason)
SELECT id, created_at, status, reason FROM input WHERE id IN (SELECT id FROM m) RETURNING message_id
"""  # noqa: S608 - column lists, types and placeholders only
_INSERT_ATTEMPT = f"INSERT INTO attempts (message_id, {ATTEMPT_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"  # noqa: S608
# Each branch is an index range scan with a LIMIT on its partial index; SKIP LOCKED passes over rows another
# claimer holds, and a row another claimer already moved no longer matches when it is re-checked under the lock.
CLAIM_SQL = f"""
WITH due AS (
    SELECT id, next_attempt_at AS due_at FROM messages
    WHERE status IN ('queued', 'retrying', 'held') AND next_attempt_at <= %(now)s
        AND NOT (vendor || ':' || channel = ANY(%(exclude)s::text[]))
    ORDER BY next_attempt_at LIMIT %(limit)s FOR UPDATE SKIP LOCKED
), expired AS (
    SELECT id, lease_until AS due_at FROM messages
    WHERE status = 'sending' AND lease_until < %(now)s
        AND NOT (vendor || ':' || channel = ANY(%(exclude)s::text[]))
    ORDER BY lease_until LIMIT %(limit)s FOR UPDATE SKIP LOCKED
), chosen AS (
    SELECT id, due_at FROM due UNION ALL SELECT id, due_at FROM expired ORDER BY due_at, id LIMIT %(limit)s
)
UPDATE messages AS m SET status = 'sending', lease_until = %(until)s, updated_at = %(now)s
FROM chosen WHERE m.id = chosen.id
RETURNING {message_columns(prefix="m.", json_suffix="::text")}, chosen.due_at
"""  # noqa: S608
# One statement, so one round trip in autocommit: the row lock the UPDATE takes makes the check of the expected
# status and the move atomic (READ COMMITTED re-checks the WHERE on the newest row version), and the timeline rows
# are written only for a row that moved.
_MOVE = """
UPDATE messages SET status = %(status)s, updated_at = %(now)s, lease_until = NULL, next_attempt_at = %(next)s,
    attempt_count = attempt_count + %(counted)s, vendor_message_id = coalesce(%(vendor_id)s, vendor_message_id),
    vendor_request = coalesce(%(request)s::jsonb, vendor_request),
    send_started_at = CASE WHEN %(status)s = 'unknown' THEN send_started_at END
WHERE id = %(id)s AND (%(any)s OR status = ANY(%(expect)s::text[]))
RETURNING id
"""
_EVENT_OF_MOVED = (
    "INSERT INTO events (message_id, at, status, reason) SELECT id, %(now)s, %(status)s, %(reason)s FROM m"
)
_ATTEMPT_OF_MOVED = f"""
INSERT INTO attempts (message_id, {ATTEMPT_COLUMNS})
SELECT id, %(number)s::integer, %(started_at)s::double precision, %(duration_ms)s::double precision,
    %(outcome)s::text, %(http_status)s::integer, %(vendor_code)s::text, %(detail)s::text FROM m
"""  # noqa: S608 - column list only
_MOVED = f"WITH m AS ({_MOVE}), e AS ({_EVENT_OF_MOVED}), r AS ({REPORT_OF_MOVED})"
_TRANSITION = f"{_MOVED} SELECT id FROM m"  # noqa: S608 - fixed statements only
_TRANSITION_WITH_ATTEMPT = f"{_MOVED}, a AS ({_ATTEMPT_OF_MOVED}) SELECT id FROM m"  # noqa: S608
_SWITCH_VENDOR = f"""
WITH m AS (
    UPDATE messages SET vendor = %(vendor)s, updated_at = %(now)s WHERE id = %(id)s AND status = 'sending'
    RETURNING id
), e AS ({_EVENT_OF_MOVED.replace("%(status)s", "'sending'")})
SELECT id FROM m
"""  # noqa: S608 - fixed statements only
_ATTEMPT_FIELDS = tuple(name.strip() for name in ATTEMPT_COLUMNS.split(","))
_GET = f"SELECT {_COLUMNS}, raw_body FROM messages WHERE id = %s"  # noqa: S608
_ATTEMPTS = f"SELECT {ATTEMPT_COLUMNS} FROM attempts WHERE message_id = %s ORDER BY id"  # noqa: S608
_EVENTS = f"SELECT {EVENT_COLUMNS} FROM events WHERE message_id = %s ORDER BY id"  # noqa: S608


class PostgresStore(
    PostgresBatches,
    PostgresAdmin,
    PostgresReceipts,
    PostgresRefusals,
    PostgresGates,
    PostgresCampaigns,
    PostgresImages,
):
    """A :class:`~gateway.store.base.Store` on PostgreSQL."""

    def __init__(self, conninfo: str, *, min_size: int = 1, max_size: int = 10, timeout: float = 10.0) -> None:
        """Prepare the pool; nothing connects before :meth:`open`.

        Args:
            conninfo: A libpq connection string or ``postgresql://`` URL.
            min_size: Connections kept open.
            max_size: Connections at most.
            timeout: Seconds to wait for a connection before :class:`StoreUnavailable`.
        """
        self._adds: GroupCommit[AddOp] = GroupCommit(self._add_batch)
        self._conninfo = conninfo
        self._timeout = timeout
        self._pool: AsyncConnectionPool[_Conn] = AsyncConnectionPool(
            conninfo,
            min_size=min_size,
            max_size=max_size,
            timeout=timeout,
            open=False,
            name="gateway-store",
            # Single statements run alone (one round trip); several run inside an explicit transaction.
            kwargs={"autocommit": True},
        )

    @property
    def commit_count(self) -> int:
        """Group-committed add transactions so far."""
        return self._adds.commits

    async def open(self) -> None:
        """Apply pending migrations, then fill the pool."""
        try:
            async with await psycopg.AsyncConnection.connect(
                self._conninfo, autocommit=True, connect_timeout=int(self._timeout)
            ) as conn:
                await migrate_postgres(conn)
            await self._pool.open(wait=True, timeout=self._timeout)
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise StoreUnavailable(f"PostgreSQL: {exc}") from exc

    async def close(self) -> None:
        """Wait for queued adds to commit, then close every pooled connection."""
        await self._adds.drain()
        await self._pool.close()

    async def ping(self) -> bool:
        """Return whether a pooled connection answers."""
        try:
            async with self._autocommit() as conn:
                await conn.execute("SELECT 1")
        except StoreUnavailable:
            return False
        return True

    async def add(self, new: NewMessage, *, idempotency_window: float) -> AddResult:
        """See :meth:`Store.add`; concurrent adds share one transaction (group commit)."""
        result: AddResult = await self._adds.submit(AddOp(new, idempotency_window))
        return result

    async def _add_batch(self, ops: list[AddOp]) -> list[object]:
        """Add ``ops``; if the database refuses one of them, add each alone.

        In autocommit: a batch is one statement per idempotency window (one, in practice), atomic by itself, so
        no BEGIN and COMMIT round trips. Each add's result is its own, so a batch need not commit as a whole.
        """
        try:
            async with self._autocommit() as conn:
                return list(await _add_many(conn, ops))
        except psycopg.DatabaseError:  # a bad row (a clashing id, a NUL character) must not fail the others
            return [await self._add_alone(op) for op in ops]

    async def _add_alone(self, op: AddOp) -> object:
        try:
            async with self._connection() as conn:
                return (await _add_many(conn, [op]))[0]
        except psycopg.DatabaseError as exc:
            return exc

    async def claim(
        self, *, now: float, limit: int, lease: float, exclude: frozenset[tuple[str, str]] = frozenset()
    ) -> list[StoredMessage]:
        """See :meth:`Store.claim`."""
        params = {"now": now, "limit": limit, "until": now + lease, "exclude": route_keys(exclude)}
        async with self._autocommit() as conn:
            rows = await (await conn.execute(CLAIM_SQL, params)).fetchall()
        rows.sort(key=lambda row: (row[-1], row[0]))
        return [stored_message(row) for row in rows]

    async def renew_leases(self, message_ids: Sequence[str], *, until: float) -> int:
        """See :meth:`Store.renew_leases`."""
        async with self._autocommit() as conn:
            cursor = await conn.execute(
                # Rows locked in id order, as a batch's writes lock them (gateway/store/postgres_batches.py).
                "UPDATE messages SET lease_until = %s WHERE id IN "
                "(SELECT id FROM messages WHERE id = ANY(%s) AND status = 'sending' ORDER BY id FOR UPDATE)",
                (until, list(message_ids)),
            )
        return cursor.rowcount

    async def begin_send(self, message_id: str, *, now: float) -> None:
        """See :meth:`Store.begin_send`."""
        async with self._autocommit() as conn:
            await conn.execute(
                "UPDATE messages SET send_started_at = %s WHERE id = %s AND status = 'sending'", (now, message_id)
            )

    async def switch_vendor(self, message_id: str, vendor: str, reason: str, *, now: float) -> None:
        """See :meth:`Store.switch_vendor`."""
        params = {"id": message_id, "vendor": vendor, "now": now, "reason": reason}
        async with self._autocommit() as conn:
            moved = await (await conn.execute(_SWITCH_VENDOR, params)).fetchone()
        if moved is None:
            raise StaleTransition(f"message {message_id} is not being sent")

    async def transition(
        self,
        message_id: str,
        status: Status,
        reason: str,
        *,
        now: float,
        expect: frozenset[Status] | None = None,
        attempt: Attempt | None = None,
        next_attempt_at: float | None = None,
        vendor_message_id: str | None = None,
        vendor_request: dict[str, object] | None = None,
        report: Report | None = None,
    ) -> None:
        """See :meth:`Store.transition`: one statement that moves the row only from an expected status."""
        params: dict[str, Any] = {
            "id": message_id,
            "status": status.value,
            "now": now,
            "next": next_attempt_at,
            "counted": 0 if attempt is None else 1,
            "vendor_id": vendor_message_id,
            "request": None if vendor_request is None else encode_json(vendor_request),
            "any": expect is None,
            "expect": sorted(expect or ()),
            "reason": reason,
            "report": report is not None,
            "code": None if report is None else report.code,
        }
        if attempt is not None:
            params.update(zip(_ATTEMPT_FIELDS, attempt_values(message_id, attempt)[1:], strict=True))
        async with self._autocommit() as conn:
            moved = await (
                await conn.execute(_TRANSITION if attempt is None else _TRANSITION_WITH_ATTEMPT, params)
            ).fetchone()
            if moved is None:
                row = await (await conn.execute("SELECT status FROM messages WHERE id = %s", (message_id,))).fetchone()
        if moved is not None:
            return
        if row is None:
            raise KeyError(message_id)
        raise StaleTransition(f"message {message_id} is {row[0]}, not {'/'.join(sorted(expect or ()))}")

    async def record_attempt(
        self,
        message_id: str,
        attempt: Attempt,
        reason: str,
        *,
        now: float,
        vendor_request: dict[str, object] | None = None,
    ) -> None:
        """See :meth:`Store.record_attempt`."""
        request = None if vendor_request is None else encode_json(vendor_request)
        async with self._connection() as conn:
            cursor = await conn.execute(
                "UPDATE messages SET attempt_count = attempt_count + 1, updated_at = %s, send_started_at = NULL, "
                "vendor_request = coalesce(%s::jsonb, vendor_request) WHERE id = %s RETURNING status",
                (now, request, message_id),
            )
            row = await cursor.fetchone()
            if row is None:
                raise KeyError(message_id)
            await conn.execute(_INSERT_ATTEMPT, attempt_values(message_id, attempt))
            await conn.execute(INSERT_EVENT, (message_id, now, row[0], reason))

    async def link_fallback(
        self,
        parent_id: str,
        child: NewMessage,
        reason: str,
        *,
        now: float,
        expect: frozenset[Status] | None = None,
        report: Report | None = None,
    ) -> None:
        """See :meth:`Store.link_fallback`; the row lock makes the checks and the link atomic."""
        async with self._connection() as conn:
            cursor = await conn.execute("SELECT status, child_id FROM messages WHERE id = %s FOR UPDATE", (parent_id,))
            row = await cursor.fetchone()
            if row is None:
                raise KeyError(parent_id)
            if row[1] is not None:
                raise StaleTransition(f"message {parent_id} already fell back to {row[1]}")
            if expect is not None and Status(row[0]) not in expect:
                raise StaleTransition(f"message {parent_id} is {row[0]}, not {'/'.join(sorted(expect))}")
            await conn.execute(
                "UPDATE messages SET status = %s, updated_at = %s, lease_until = NULL, next_attempt_at = NULL, "
                "send_started_at = NULL, child_id = %s WHERE id = %s",
                (Status.FALLBACK.value, now, child.id, parent_id),
            )
            await conn.execute(INSERT_EVENT, (parent_id, now, Status.FALLBACK.value, reason))
            await conn.execute(INSERT_MESSAGE, insert_values(child, parent_id))
            await conn.execute(INSERT_EVENT, (child.id, child.created_at, child.status.value, child.reason))
            await conn.execute(UPSERT_KEY, (child.idempotency_key, child.id, child.created_at))
            if report is not None:
                await conn.execute(INSERT_FEEDBACK, (parent_id, Status.FALLBACK.value, report.code, now, now))

    async def get(self, message_id: str) -> MessageDetail | None:
        """See :meth:`Store.get`; one transaction, so the reads agree."""
        async with self._connection() as conn:
            row = await (await conn.execute(_GET, (message_id,))).fetchone()
            if row is None:
                return None
            attempts = await (await conn.execute(_ATTEMPTS, (message_id,))).fetchall()
            events = await (await conn.execute(_EVENTS, (message_id,))).fetchall()
            receipts = await receipts_for(conn, message_id)
        return MessageDetail(
            record=stored_message(row),
            raw_body=bytes(row[-1]),
            attempts=tuple(map(attempt_from_row, attempts)),
            events=tuple(map(event_from_row, events)),
            receipts=receipts,
        )

    async def search(self, criteria: MessageFilter, *, limit: int, cursor: str | None = None) -> Page:
        """See :meth:`Store.search`."""
        sql, params = search_query(criteria, limit=limit, cursor=cursor, columns=_COLUMNS, placeholder="%s")
        async with self._autocommit() as conn:
            rows = await (await conn.execute(sql, params)).fetchall()
        return page_from([stored_message(row) for row in rows], limit)

    async def count_by_status(self, statuses: frozenset[Status] | None = None) -> dict[Status, int]:
        """See :meth:`Store.count_by_status`."""
        query, params = "SELECT status, count(*) FROM messages GROUP BY status", ()
        if statuses is not None:
            query = "SELECT status, count(*) FROM messages WHERE status = ANY(%s) GROUP BY status"
            params = ([status.value for status in statuses],)  # type: ignore[assignment]
        async with self._autocommit() as conn:
            rows = await (await conn.execute(query, params)).fetchall()
        return {Status(status): count for status, count in rows}

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[_Conn]:
        """A pooled connection in a transaction, committed on exit (rolled back on an exception)."""
        async with self._autocommit() as conn, conn.transaction():
            yield conn

    @contextlib.asynccontextmanager
    async def _autocommit(self) -> AsyncIterator[_Conn]:
        """A pooled connection in autocommit: each statement is its own transaction, one round trip."""
        try:
            async with self._pool.connection() as conn:
                yield conn
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise StoreUnavailable(f"PostgreSQL: {exc}") from exc


async def _add_many(conn: _Conn, ops: list[AddOp]) -> list[AddResult]:
    """Add a batch with one statement per idempotency window, then look up the first message of each duplicate.

    Within the batch the first add of a key is tried; a later one of the same key is a repeat of it (one
    statement cannot write a key row twice).
    """
    firsts: dict[str, AddOp] = {}
    for op in ops:
        firsts.setdefault(op.new.idempotency_key, op)
    windows: dict[float, list[AddOp]] = {}
    for op in firsts.values():
        windows.setdefault(op.window, []).append(op)
    fresh: set[str] = set()
    for window, tried in windows.items():
        cursor = await conn.execute(_ADD_BATCH, (*_columns(tried), window))
        fresh.update(row[0] for row in await cursor.fetchall())
    duplicates = [op.new.idempotency_key for op in ops if op.new.id not in fresh]
    first: dict[str, str] = {}
    if duplicates:
        cursor = await conn.execute("SELECT key, message_id FROM idempotency_keys WHERE key = ANY(%s)", (duplicates,))
        first = dict(await cursor.fetchall())
    # A key row gone between the two statements (purged, its window long over) no longer holds the add back.
    gone = [op for op in ops if op.new.id not in fresh and op.new.idempotency_key not in first]
    again = dict(zip((op.new.id for op in gone), await _add_many(conn, gone), strict=True)) if gone else {}
    return [
        AddResult(op.new.id, duplicate=False)
        if op.new.id in fresh
        else again.get(op.new.id) or _repeat_of(op, first[op.new.idempotency_key])
        for op in ops
    ]


def _repeat_of(op: AddOp, first_id: str) -> AddResult:
    # Its own id: the add itself went in earlier (an add retried alone after its batch failed further on).
    return AddResult(first_id, duplicate=first_id != op.new.id)


def _columns(ops: list[AddOp]) -> list[list[Any]]:
    """The arrays :data:`_ADD_BATCH` unnests: each of :data:`INSERT_COLUMNS`, then the reason."""
    rows = [(*insert_values(op.new, op.new.parent_id), op.new.reason) for op in ops]
    columns = [list(column) for column in zip(*rows, strict=True)]
    for index in _FLOAT_COLUMNS:
        # One array type per column: an int among floats (a whole-second clock) would not fit a float8[].
        columns[index] = [None if value is None else float(value) for value in columns[index]]
    return columns
