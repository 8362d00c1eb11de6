"""The SQLite write operations; they run on the store's single writer thread, inside one batch transaction.

:func:`run_batch` is the group commit: every operation queued while the previous commit was running shares one
``BEGIN IMMEDIATE`` ... ``COMMIT`` (one fsync). Adds go in bulk with ``executemany``; every other operation runs
in its own savepoint, so one failing operation (a stale transition) leaves the others in the batch intact.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

from gateway.models import Attempt, NewMessage, Status, StoredMessage
from gateway.store.base import AddResult, AttemptEntry, Report, StaleTransition, StoreUnavailable, Transition
from gateway.store.group import AddOp
from gateway.store.rows import (
    ATTEMPT_COLUMNS,
    INSERT_COLUMNS,
    attempt_values,
    encode_json,
    insert_values,
    message_columns,
    route_keys,
    stored_message,
)
from gateway.store.sqlite_receipts import add_feedback

__all__ = (
    "CLAIM_DUE_SQL",
    "CLAIM_EXPIRED_SQL",
    "WriteOp",
    "begin_send",
    "begin_send_many",
    "claim",
    "link_fallback",
    "record_attempt",
    "record_attempts",
    "renew_leases",
    "run_batch",
    "switch_vendor",
    "transition",
    "transition_many",
)

WriteOp = Callable[[sqlite3.Connection], object]

_INSERT_EVENT = "INSERT INTO events (message_id, at, status, reason) VALUES (?, ?, ?, ?)"
#: Multi-row inserts of a batch's adds: (the statement before its rows, the values per row, what follows them).
_MESSAGE_ROWS = (f"INSERT INTO messages ({INSERT_COLUMNS}) VALUES ", 17, "")  # noqa: S608
_EVENT_ROWS = ("INSERT INTO events (message_id, at, status, reason) VALUES ", 4, "")
_KEY_ROWS = (
    "INSERT INTO idempotency_keys (key, message_id, created_at) VALUES ",
    3,
    " ON CONFLICT (key) DO UPDATE SET message_id = excluded.message_id, created_at = excluded.created_at",
)
#: Rows per multi-row statement: powers of two, so any batch takes a few statements of a few cached texts.
_CHUNKS = (256, 128, 64, 32, 16, 8, 4, 2, 1)
_INSERT_ATTEMPT = f"INSERT INTO attempts (message_id, {ATTEMPT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"  # noqa: S608
_FIND_KEYS = "SELECT key, message_id, created_at FROM idempotency_keys WHERE key IN (SELECT value FROM json_each(?))"
# INDEXED BY: without statistics SQLite would pick messages_status and sort the whole queue; the partial indexes
# give the due messages already in order, so the LIMIT stops the scan.
CLAIM_DUE_SQL = (
    "SELECT id, next_attempt_at FROM messages INDEXED BY messages_due WHERE status IN ('queued', 'retrying', 'held') "
    "AND next_attempt_at <= ? AND vendor || ':' || channel NOT IN (SELECT value FROM json_each(?)) "
    "ORDER BY next_attempt_at LIMIT ?"
)
CLAIM_EXPIRED_SQL = (
    "SELECT id, lease_until FROM messages INDEXED BY messages_lease WHERE status = 'sending' "
    "AND lease_until < ? AND vendor || ':' || channel NOT IN (SELECT value FROM json_each(?)) "
    "ORDER BY lease_until LIMIT ?"
)
_TAKE = (
    "UPDATE messages SET status = 'sending', lease_until = ?, updated_at = ? "  # noqa: S608
    f"WHERE id IN (SELECT value FROM json_each(?)) RETURNING {message_columns()}"
)
# A transition; with a child id, a fallback's link too (transition_many).
_MOVE = (
    "UPDATE messages SET status = ?, updated_at = ?, lease_until = NULL, next_attempt_at = ?, "
    "attempt_count = attempt_count + ?, vendor_message_id = coalesce(?, vendor_message_id), "
    "vendor_request = coalesce(?, vendor_request), "
    "send_started_at = CASE WHEN ?1 = 'unknown' THEN send_started_at END, child_id = coalesce(?, child_id) WHERE id = ?"
)


def run_batch(conn: sqlite3.Connection, ops: Sequence[AddOp | WriteOp]) -> list[object]:
    """Run ``ops`` in one transaction and commit it; return each result, or the exception it raised.

    Raises:
        sqlite3.Error: The transaction itself failed (nothing of the batch was committed).
    """
    outcomes: list[object] = [None] * len(ops)
    adds = [index for index, op in enumerate(ops) if isinstance(op, AddOp)]
    conn.execute("BEGIN IMMEDIATE")
    with conn:
        if adds:
            added = _add_all(conn, [op for op in ops if isinstance(op, AddOp)])
            for index, outcome in zip(adds, added, strict=True):
                outcomes[index] = outcome
        for index, op in enumerate(ops):
            if not isinstance(op, AddOp):
                outcomes[index] = _in_savepoint(conn, op)
    return outcomes


def _add_all(conn: sqlite3.Connection, adds: list[AddOp]) -> list[object]:
    """Add in bulk; if the bulk insert fails, add one by one so that only the faulty add fails."""
    try:
        return list(_in_savepoint_raising(conn, lambda c: _add_many(c, adds)))
    except sqlite3.IntegrityError:
        return [_in_savepoint(conn, functools.partial(_add_one, op=op)) for op in adds]


def _add_one(conn: sqlite3.Connection, op: AddOp) -> AddResult:
    return _add_many(conn, [op])[0]


def _add_many(conn: sqlite3.Connection, adds: list[AddOp]) -> list[AddResult]:
    results = []
    fresh: list[NewMessage] = []
    keys = encode_json([op.new.idempotency_key for op in adds])
    # One query for the whole batch: every statement hands the GIL to the event loop and must win it back, which
    # under load costs more than the statement. Keys first seen earlier in this same batch count as seen.
    seen: dict[str, tuple[str, float]] = {key: (first, at) for key, first, at in conn.execute(_FIND_KEYS, (keys,))}
    for op in adds:
        new = op.new
        first = seen.get(new.idempotency_key)
        if first is not None and first[1] >= new.created_at - op.window:
            results.append(AddResult(first[0], duplicate=True))
            continue
        seen[new.idempotency_key] = (new.id, new.created_at)
        fresh.append(new)
        results.append(AddResult(new.id, duplicate=False))
    _insert(conn, fresh)
    return results


def _insert(conn: sqlite3.Connection, news: Sequence[NewMessage], parent_id: str | None = None) -> None:
    _insert_rows(conn, _MESSAGE_ROWS, [insert_values(new, parent_id or new.parent_id) for new in news])
    _insert_rows(conn, _EVENT_ROWS, [(new.id, new.created_at, new.status.value, new.reason) for new in news])
    _insert_rows(conn, _KEY_ROWS, [(new.idempotency_key, new.id, new.created_at) for new in news])


def _insert_rows(conn: sqlite3.Connection, statement: tuple[str, int, str], rows: list[tuple[Any, ...]]) -> None:
    """Insert ``rows`` with a few multi-row statements rather than one step (and GIL hand-off) per row."""
    start = 0
    while start < len(rows):
        size = next(chunk for chunk in _CHUNKS if chunk <= len(rows) - start)
        conn.execute(_rows_sql(*statement, size), [value for row in rows[start : start + size] for value in row])
        start += size


@functools.cache
def _rows_sql(head: str, width: int, tail: str, rows: int) -> str:
    row = f"({', '.join('?' * width)})"
    return f"{head}{', '.join([row] * rows)}{tail}"


def claim(
    conn: sqlite3.Connection, *, now: float, limit: int, lease: float, exclude: frozenset[tuple[str, str]]
) -> list[StoredMessage]:
    """Take up to ``limit`` due messages, oldest due first (see :meth:`Store.claim`)."""
    params = (now, encode_json(route_keys(exclude)), limit)
    due = conn.execute(CLAIM_DUE_SQL, params).fetchall() + conn.execute(CLAIM_EXPIRED_SQL, params).fetchall()
    chosen = sorted(due, key=lambda row: (row[1], row[0]))[:limit]
    if not chosen:
        return []
    order = {row[0]: position for position, row in enumerate(chosen)}
    rows = conn.execute(_TAKE, (now + lease, now, encode_json(list(order)))).fetchall()
    return sorted((stored_message(row) for row in rows), key=lambda message: order[message.id])


def renew_leases(conn: sqlite3.Connection, *, ids: Sequence[str], until: float) -> int:
    """Extend the leases of those of ``ids`` still sending (see :meth:`Store.renew_leases`)."""
    cursor = conn.execute(
        "UPDATE messages SET lease_until = ? WHERE id IN (SELECT value FROM json_each(?)) AND status = 'sending'",
        (until, encode_json(list(ids))),
    )
    return cursor.rowcount


def begin_send(conn: sqlite3.Connection, *, message_id: str, now: float) -> None:
    """Mark a send as started (see :meth:`Store.begin_send`)."""
    conn.execute("UPDATE messages SET send_started_at = ? WHERE id = ? AND status = 'sending'", (now, message_id))


def begin_send_many(conn: sqlite3.Connection, *, message_ids: Sequence[str], now: float) -> None:
    """Mark a batch's sends as started (see :meth:`Store.begin_send_many`)."""
    conn.execute(
        "UPDATE messages SET send_started_at = ? WHERE id IN (SELECT value FROM json_each(?)) AND status = 'sending'",
        (now, encode_json(list(message_ids))),
    )


def switch_vendor(conn: sqlite3.Connection, *, message_id: str, vendor: str, reason: str, now: float) -> None:
    """Point a message being sent at another vendor (see :meth:`Store.switch_vendor`)."""
    moved = conn.execute(
        "UPDATE messages SET vendor = ?, updated_at = ? WHERE id = ? AND status = 'sending'", (vendor, now, message_id)
    ).rowcount
    if not moved:
        raise StaleTransition(f"message {message_id} is not being sent")
    conn.execute(_INSERT_EVENT, (message_id, now, Status.SENDING.value, reason))


def transition(
    conn: sqlite3.Connection,
    message_id: str,
    status: Status,
    reason: str,
    *,
    now: float,
    expect: frozenset[Status] | None,
    attempt: Attempt | None,
    next_attempt_at: float | None,
    vendor_message_id: str | None,
    vendor_request: dict[str, object] | None,
    report: Report | None = None,
) -> None:
    """Move a message and record its event (and attempt, and Braze report) (see :meth:`Store.transition`)."""
    row = conn.execute("SELECT status FROM messages WHERE id = ?", (message_id,)).fetchone()
    if row is None:
        raise KeyError(message_id)
    if expect is not None and Status(row[0]) not in expect:
        raise StaleTransition(f"message {message_id} is {row[0]}, not {'/'.join(sorted(expect))}")
    request = None if vendor_request is None else encode_json(vendor_request)
    counted = 0 if attempt is None else 1
    conn.execute(_MOVE, (status.value, now, next_attempt_at, counted, vendor_message_id, request, None, message_id))
    if attempt is not None:
        conn.execute(_INSERT_ATTEMPT, attempt_values(message_id, attempt))
    conn.execute(_INSERT_EVENT, (message_id, now, status.value, reason))
    if report is not None:
        add_feedback(conn, message_id, status, code=report.code, now=now)


def transition_many(conn: sqlite3.Connection, *, transitions: Sequence[Transition], now: float) -> list[bool]:
    """Move each message whose checks pass, with its rows (see :meth:`Store.transition_many`)."""
    ids = encode_json([move.message_id for move in transitions])
    found = {
        row[0]: (Status(row[1]), row[2])
        for row in conn.execute(
            "SELECT id, status, child_id FROM messages WHERE id IN (SELECT value FROM json_each(?))", (ids,)
        )
    }
    moved = [_may_move(move, found.get(move.message_id)) for move in transitions]
    going = [move for move, ok in zip(transitions, moved, strict=True) if ok]
    conn.executemany(_MOVE, [_move_values(move, now) for move in going])
    conn.executemany(_INSERT_ATTEMPT, [attempt_values(m.message_id, m.attempt) for m in going if m.attempt is not None])
    conn.executemany(_INSERT_EVENT, [(move.message_id, now, move.status.value, move.reason) for move in going])
    for move in going:
        if move.report is not None:
            add_feedback(conn, move.message_id, move.status, code=move.report.code, now=now)
    children = [(move.fallback, move.message_id) for move in going if move.fallback is not None]
    for child, parent_id in children:
        _insert(conn, [child], parent_id)
    return moved


def _may_move(move: Transition, found: tuple[Status, str | None] | None) -> bool:
    if found is None:
        return False
    status, child_id = found
    if move.fallback is not None and child_id is not None:
        return False
    return move.expect is None or status in move.expect


def _move_values(move: Transition, now: float) -> tuple[Any, ...]:
    request = None if move.vendor_request is None else encode_json(move.vendor_request)
    child_id = None if move.fallback is None else move.fallback.id
    counted = 0 if move.attempt is None else 1
    return (
        move.status.value,
        now,
        move.next_attempt_at,
        counted,
        move.vendor_message_id,
        request,
        child_id,
        move.message_id,
    )


def record_attempts(conn: sqlite3.Connection, *, entries: Sequence[AttemptEntry], now: float) -> None:
    """Record attempts that keep their claims (see :meth:`Store.record_attempts`)."""
    for entry in entries:
        try:
            record_attempt(
                conn, entry.message_id, entry.attempt, entry.reason, now=now, vendor_request=entry.vendor_request
            )
        except KeyError:
            continue


def record_attempt(
    conn: sqlite3.Connection,
    message_id: str,
    attempt: Attempt,
    reason: str,
    *,
    now: float,
    vendor_request: dict[str, object] | None = None,
) -> None:
    """Record an attempt that keeps the claim (see :meth:`Store.record_attempt`)."""
    request = None if vendor_request is None else encode_json(vendor_request)
    row = conn.execute(
        "UPDATE messages SET attempt_count = attempt_count + 1, updated_at = ?, send_started_at = NULL, "
        "vendor_request = coalesce(?, vendor_request) WHERE id = ? RETURNING status",
        (now, request, message_id),
    ).fetchone()
    if row is None:
        raise KeyError(message_id)
    conn.execute(_INSERT_ATTEMPT, attempt_values(message_id, attempt))
    conn.execute(_INSERT_EVENT, (message_id, now, row[0], reason))


def link_fallback(
    conn: sqlite3.Connection,
    parent_id: str,
    child: NewMessage,
    reason: str,
    *,
    now: float,
    expect: frozenset[Status] | None = None,
    report: Report | None = None,
) -> None:
    """Add ``child`` and point its parent at it, once (see :meth:`Store.link_fallback`)."""
    row = conn.execute("SELECT status, child_id FROM messages WHERE id = ?", (parent_id,)).fetchone()
    if row is None:
        raise KeyError(parent_id)
    if row[1] is not None:
        raise StaleTransition(f"message {parent_id} already fell back to {row[1]}")
    if expect is not None and Status(row[0]) not in expect:
        raise StaleTransition(f"message {parent_id} is {row[0]}, not {'/'.join(sorted(expect))}")
    conn.execute(
        "UPDATE messages SET status = ?, updated_at = ?, lease_until = NULL, next_attempt_at = NULL, "
        "send_started_at = NULL, child_id = ? "
        "WHERE id = ?",
        (Status.FALLBACK.value, now, child.id, parent_id),
    )
    conn.execute(_INSERT_EVENT, (parent_id, now, Status.FALLBACK.value, reason))
    _insert(conn, [child], parent_id)
    if report is not None:
        add_feedback(conn, parent_id, Status.FALLBACK, code=report.code, now=now)


def _in_savepoint(conn: sqlite3.Connection, op: WriteOp) -> object:
    """Run ``op``; on failure undo only its writes and return the exception (as the store raises it)."""
    try:
        return _in_savepoint_raising(conn, op)
    except sqlite3.OperationalError as exc:
        return StoreUnavailable(f"SQLite: {exc}")
    except Exception as exc:
        return exc


def _in_savepoint_raising(conn: sqlite3.Connection, op: Callable[[sqlite3.Connection], Any]) -> Any:
    conn.execute("SAVEPOINT op")
    try:
        result = op(conn)
    except BaseException:
        conn.execute("ROLLBACK TO op")
        conn.execute("RELEASE op")
        raise
    conn.execute("RELEASE op")
    return result
