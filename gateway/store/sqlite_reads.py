"""The SQLite read operations; they run on the store's reader thread and connection (WAL lets reads run while
the writer commits)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from gateway.models import Attempt, MessageDetail, Status
from gateway.store.base import MessageFilter, Page
from gateway.store.rows import (
    ATTEMPT_COLUMNS,
    EVENT_COLUMNS,
    attempt_from_row,
    encode_json,
    event_from_row,
    message_columns,
    stored_message,
)
from gateway.store.search import page_from, search_query
from gateway.store.sqlite_receipts import receipts_for

__all__ = ("count_by_status", "get", "last_attempts", "search")

_GET = f"SELECT {message_columns()}, raw_body FROM messages WHERE id = ?"  # noqa: S608
_ATTEMPTS = f"SELECT {ATTEMPT_COLUMNS} FROM attempts WHERE message_id = ? ORDER BY id"  # noqa: S608
_EVENTS = f"SELECT {EVENT_COLUMNS} FROM events WHERE message_id = ? ORDER BY id"  # noqa: S608
# The index attempts (message_id, id) gives each message's last attempt directly.
_LAST_ATTEMPTS = (
    f"SELECT message_id, {ATTEMPT_COLUMNS} FROM attempts WHERE id IN "  # noqa: S608
    "(SELECT max(id) FROM attempts WHERE message_id IN (SELECT value FROM json_each(?)) GROUP BY message_id)"
)


def last_attempts(conn: sqlite3.Connection, message_ids: Sequence[str]) -> dict[str, Attempt]:
    """Each message's last attempt (see :meth:`Store.last_attempts`)."""
    rows = conn.execute(_LAST_ATTEMPTS, (encode_json(list(message_ids)),))
    return {row[0]: attempt_from_row(row[1:]) for row in rows}


def get(conn: sqlite3.Connection, message_id: str) -> MessageDetail | None:
    """Return a message with its attempts, events and receipts, read in one snapshot."""
    conn.execute("BEGIN")
    with conn:
        row = conn.execute(_GET, (message_id,)).fetchone()
        if row is None:
            return None
        attempts = conn.execute(_ATTEMPTS, (message_id,)).fetchall()
        events = conn.execute(_EVENTS, (message_id,)).fetchall()
        receipts = receipts_for(conn, message_id)
    return MessageDetail(
        record=stored_message(row),
        raw_body=row[-1],
        attempts=tuple(map(attempt_from_row, attempts)),
        events=tuple(map(event_from_row, events)),
        receipts=receipts,
    )


def search(conn: sqlite3.Connection, criteria: MessageFilter, *, limit: int, cursor: str | None) -> Page:
    """Return one page of matching messages, newest first."""
    sql, params = search_query(
        criteria, limit=limit, cursor=cursor, columns=message_columns(), placeholder="?", sqlite=True
    )
    return page_from([stored_message(row) for row in conn.execute(sql, params)], limit)


def count_by_status(conn: sqlite3.Connection, statuses: frozenset[Status] | None = None) -> dict[Status, int]:
    """Return the number of messages in each status that has any (of ``statuses``, when given)."""
    if statuses is None:
        rows = conn.execute("SELECT status, count(*) FROM messages GROUP BY status")
    else:
        marks = ", ".join("?" * len(statuses))
        rows = conn.execute(
            f"SELECT status, count(*) FROM messages WHERE status IN ({marks}) GROUP BY status",  # noqa: S608
            [status.value for status in statuses],
        )
    return {Status(status): count for status, count in rows}
