"""The support console's operations on PostgreSQL: mixed into :class:`~gateway.store.postgres.PostgresStore`.

Each operation is one transaction on one pooled connection, like the rest of the backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

import psycopg

from gateway.models import Status
from gateway.store import rows_admin as rows
from gateway.store.refusals import ERASE as ERASE_REFUSALS
from gateway.store.types_admin import AuditEntry, AuditPage, FailureCount, WindowCount

__all__ = ("PostgresAdmin",)

_Conn = psycopg.AsyncConnection[Any]
_INSERT_EVENT = "INSERT INTO events (message_id, at, status, reason) VALUES (%s, %s, %s, %s)"
_REPLAY = (
    "UPDATE messages SET status = 'queued', next_attempt_at = %s, replayed_at = %s, updated_at = %s, "  # noqa: S608
    "lease_until = NULL, send_started_at = NULL "
    f"WHERE id = ANY(%s) AND status IN ({rows.FINAL_SQL}) AND {rows.NOT_ERASED_SQL} RETURNING id"
)
# FOR UPDATE: a dispatcher that claims one of them meanwhile waits, then sees the erased row.
_USER_MESSAGES = (
    "SELECT id, status, message::text, vendor_request::text FROM messages WHERE user_id = %s ORDER BY id FOR UPDATE"
)
_ERASE = rows.sql(rows.ERASE_UPDATE, "%s", "::jsonb")


class _Backend(Protocol):
    """What the mixin needs of :class:`~gateway.store.postgres.PostgresStore`."""

    def _connection(self) -> AbstractAsyncContextManager[_Conn]: ...


class PostgresAdmin:
    """Replay, statistics, failures, audit, console sessions, purge, erasure (see :class:`gateway.store.base.Store`)."""

    async def replay(self: _Backend, message_ids: Sequence[str], reason: str, *, now: float) -> list[str]:
        """See :meth:`Store.replay`."""
        async with self._connection() as conn:
            cursor = await conn.execute(_REPLAY, (now, now, now, list(message_ids)))
            moved = [row[0] for row in await cursor.fetchall()]
            async with conn.cursor() as events:
                await events.executemany(_INSERT_EVENT, [(m, now, Status.QUEUED.value, reason) for m in moved])
        return moved

    async def note(self: _Backend, message_id: str, reason: str, *, now: float) -> bool:
        """See :meth:`Store.note`."""
        async with self._connection() as conn:
            cursor = await conn.execute(rows.sql(rows.NOTE, "%s"), (now, reason, message_id))
            return cursor.rowcount > 0

    async def window_counts(self: _Backend, *, created_from: float, created_to: float) -> list[WindowCount]:
        """See :meth:`Store.window_counts`."""
        async with self._connection() as conn:
            cursor = await conn.execute(rows.sql(rows.WINDOW_COUNTS, "%s"), (created_from, created_to))
            return [rows.window_count(row) for row in await cursor.fetchall()]

    async def failures_by_code(self: _Backend, *, since: float, until: float, limit: int) -> list[FailureCount]:
        """See :meth:`Store.failures_by_code`."""
        async with self._connection() as conn:
            cursor = await conn.execute(rows.sql(rows.FAILURES, "%s"), (since, until, since, until, limit))
            return [rows.failure_count(row) for row in await cursor.fetchall()]

    async def add_audit(self: _Backend, entry: AuditEntry) -> None:
        """See :meth:`Store.add_audit`."""
        async with self._connection() as conn:
            await conn.execute(rows.sql(rows.AUDIT_INSERT, "%s"), rows.audit_values(entry))

    async def audit_log(self: _Backend, *, limit: int, cursor: str | None = None) -> AuditPage:
        """See :meth:`Store.audit_log`."""
        below = rows.decode_audit_cursor(cursor)
        async with self._connection() as conn:
            found = await conn.execute(rows.sql(rows.AUDIT_PAGE, "%s"), (below, limit + 1))
            return rows.audit_page(await found.fetchall(), limit)

    async def start_session(self: _Backend, session_id: str, staff: str, *, now: float, expires_at: float) -> None:
        """See :meth:`Store.start_session`."""
        async with self._connection() as conn:
            await conn.execute(rows.sql(rows.SESSION_EXPIRED, "%s"), (now,))
            await conn.execute(rows.sql(rows.SESSION_START, "%s"), (session_id, staff, now, expires_at))

    async def session_active(self: _Backend, session_id: str, *, now: float) -> bool:
        """See :meth:`Store.session_active`."""
        async with self._connection() as conn:
            cursor = await conn.execute(rows.sql(rows.SESSION_ACTIVE, "%s"), (session_id, now))
            return await cursor.fetchone() is not None

    async def end_session(self: _Backend, session_id: str) -> None:
        """See :meth:`Store.end_session`."""
        async with self._connection() as conn:
            await conn.execute(rows.sql(rows.SESSION_END, "%s"), (session_id,))

    async def purge(self: _Backend, *, created_before: float, limit: int) -> int:
        """See :meth:`Store.purge`."""
        async with self._connection() as conn:
            cursor = await conn.execute(rows.sql(rows.PURGE, "%s"), (created_before, limit))
            return cursor.rowcount

    async def erase_user(self: _Backend, user_id: str, reason: str, *, now: float) -> int:
        """See :meth:`Store.erase_user`."""
        async with self._connection() as conn:
            found = await (await conn.execute(_USER_MESSAGES, (user_id,))).fetchall()
            for message_id, status, message, request in found:
                new_status = rows.erased_status(status)
                erased = (rows.erased_message(message), rows.ERASED.encode(), rows.erased_request(request))
                await conn.execute(_ERASE, (*erased, new_status, new_status, new_status, now, message_id))
                await conn.execute(_INSERT_EVENT, (message_id, now, new_status, reason))
            await conn.execute(rows.sql(ERASE_REFUSALS, "%s"), (user_id,))
        return len(found)
