"""The support console's operations on SQLite: mixed into :class:`~gateway.store.sqlite.SqliteStore`.

Writes run on the store's writer thread inside its group commit, reads on the reader thread, like the rest of
the backend.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from gateway.models import Status
from gateway.store import rows_admin as rows
from gateway.store.refusals import ERASE as ERASE_REFUSALS
from gateway.store.rows import encode_json
from gateway.store.types_admin import AuditEntry, AuditPage, FailureCount, WindowCount

__all__ = ("SqliteAdmin",)

_T = TypeVar("_T")
_INSERT_EVENT = "INSERT INTO events (message_id, at, status, reason) VALUES (?, ?, ?, ?)"
_REPLAY = (
    "UPDATE messages SET status = 'queued', next_attempt_at = ?, replayed_at = ?, updated_at = ?, "  # noqa: S608
    "lease_until = NULL, send_started_at = NULL "
    f"WHERE id IN (SELECT value FROM json_each(?)) AND status IN ({rows.FINAL_SQL}) "
    f"AND {rows.NOT_ERASED_SQL} RETURNING id"
)
_USER_MESSAGES = "SELECT id, status, message, vendor_request FROM messages WHERE user_id = ?"


class _Backend(Protocol):
    """What the mixin needs of :class:`~gateway.store.sqlite.SqliteStore`."""

    async def _read(self, op: Callable[[sqlite3.Connection], _T]) -> _T: ...

    async def _write(self, op: Callable[[sqlite3.Connection], object]) -> Any: ...


class SqliteAdmin:
    """Replay, statistics, failures, audit, console sessions, purge, erasure (see :class:`gateway.store.base.Store`)."""

    async def replay(self: _Backend, message_ids: Sequence[str], reason: str, *, now: float) -> list[str]:
        """See :meth:`Store.replay`."""
        moved: list[str] = await self._write(
            functools.partial(_replay, message_ids=list(message_ids), reason=reason, now=now)
        )
        return moved

    async def note(self: _Backend, message_id: str, reason: str, *, now: float) -> bool:
        """See :meth:`Store.note`."""
        statement = rows.sql(rows.NOTE, "?")
        added: int = await self._write(lambda conn: conn.execute(statement, (now, reason, message_id)).rowcount)
        return added > 0

    async def window_counts(self: _Backend, *, created_from: float, created_to: float) -> list[WindowCount]:
        """See :meth:`Store.window_counts`."""
        statement = rows.sql(rows.WINDOW_COUNTS, "?")
        return await self._read(
            lambda conn: [rows.window_count(row) for row in conn.execute(statement, (created_from, created_to))]
        )

    async def failures_by_code(self: _Backend, *, since: float, until: float, limit: int) -> list[FailureCount]:
        """See :meth:`Store.failures_by_code`."""
        statement = rows.sql(rows.FAILURES, "?")
        return await self._read(
            lambda conn: [
                rows.failure_count(row) for row in conn.execute(statement, (since, until, since, until, limit))
            ]
        )

    async def add_audit(self: _Backend, entry: AuditEntry) -> None:
        """See :meth:`Store.add_audit`."""
        statement = rows.sql(rows.AUDIT_INSERT, "?")
        await self._write(lambda conn: conn.execute(statement, rows.audit_values(entry)))

    async def audit_log(self: _Backend, *, limit: int, cursor: str | None = None) -> AuditPage:
        """See :meth:`Store.audit_log`."""
        below = rows.decode_audit_cursor(cursor)
        statement = rows.sql(rows.AUDIT_PAGE, "?")
        return await self._read(
            lambda conn: rows.audit_page(conn.execute(statement, (below, limit + 1)).fetchall(), limit)
        )

    async def start_session(self: _Backend, session_id: str, staff: str, *, now: float, expires_at: float) -> None:
        """See :meth:`Store.start_session`."""
        start, expired = rows.sql(rows.SESSION_START, "?"), rows.sql(rows.SESSION_EXPIRED, "?")

        def write(conn: sqlite3.Connection) -> None:
            conn.execute(expired, (now,))
            conn.execute(start, (session_id, staff, now, expires_at))

        await self._write(write)

    async def session_active(self: _Backend, session_id: str, *, now: float) -> bool:
        """See :meth:`Store.session_active`."""
        statement = rows.sql(rows.SESSION_ACTIVE, "?")
        return await self._read(lambda conn: conn.execute(statement, (session_id, now)).fetchone() is not None)

    async def end_session(self: _Backend, session_id: str) -> None:
        """See :meth:`Store.end_session`."""
        statement = rows.sql(rows.SESSION_END, "?")
        await self._write(lambda conn: conn.execute(statement, (session_id,)))

    async def purge(self: _Backend, *, created_before: float, limit: int) -> int:
        """See :meth:`Store.purge`."""
        statement = rows.sql(rows.PURGE, "?")
        deleted: int = await self._write(lambda conn: conn.execute(statement, (created_before, limit)).rowcount)
        return deleted

    async def erase_user(self: _Backend, user_id: str, reason: str, *, now: float) -> int:
        """See :meth:`Store.erase_user`."""
        erased: int = await self._write(functools.partial(_erase_user, user_id=user_id, reason=reason, now=now))
        return erased


def _replay(conn: sqlite3.Connection, message_ids: list[str], reason: str, now: float) -> list[str]:
    moved = [row[0] for row in conn.execute(_REPLAY, (now, now, now, encode_json(message_ids)))]
    conn.executemany(_INSERT_EVENT, [(message_id, now, Status.QUEUED.value, reason) for message_id in moved])
    return moved


def _erase_user(conn: sqlite3.Connection, user_id: str, reason: str, now: float) -> int:
    found = conn.execute(_USER_MESSAGES, (user_id,)).fetchall()
    update = rows.sql(rows.ERASE_UPDATE, "?")
    for message_id, status, message, request in found:
        new_status = rows.erased_status(status)
        erased = (rows.erased_message(message), rows.ERASED.encode(), rows.erased_request(request))
        conn.execute(update, (*erased, new_status, new_status, new_status, now, message_id))
        conn.execute(_INSERT_EVENT, (message_id, now, new_status, reason))
    conn.execute(rows.sql(ERASE_REFUSALS, "?"), (user_id,))
    return len(found)
