"""Refused ingests in the store (issue 11): added, searched, read, counted, purged; both backends.

The SQL is shared (``{p}`` is the driver's placeholder, as in :mod:`gateway.store.rows_admin`); the SQLite mixin
writes through the store's group commit and reads on its reader thread, the PostgreSQL one uses its pool.
Erasure of a user's refusals is part of :meth:`Store.erase_user` (:data:`ERASE`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol, TypeVar

import msgspec
import psycopg

from gateway.models import BrazeContext
from gateway.normalise.errors import FieldError
from gateway.refusals import Refusal, RefusalPage
from gateway.store.base import MessageFilter
from gateway.store.rows_admin import ERASED, sql
from gateway.store.search import encode_cursor, search_query

__all__ = ("ERASE", "PostgresRefusals", "SqliteRefusals")

_T = TypeVar("_T")
_COLUMNS = (
    "id, created_at, http_status, detail, errors, user_id, channel, phone, email, campaign_id, dispatch_id, braze, "
    "content_type, body, message_id"
)
_INSERT = f"INSERT INTO refusals ({_COLUMNS}) VALUES ({', '.join(['{p}'] * 15)})"  # noqa: S608 - fixed list
_GET = f"SELECT {_COLUMNS} FROM refusals WHERE id = {{p}}"  # noqa: S608 - fixed list
_COUNT = "SELECT count(*) FROM refusals WHERE created_at >= {p} AND created_at < {p}"
_PURGE = (
    "DELETE FROM refusals WHERE id IN "
    "(SELECT id FROM refusals WHERE created_at < {p} ORDER BY created_at, id LIMIT {p})"
)
#: Run by both backends' ``erase_user`` with the user id, in its transaction.
ERASE = f"UPDATE refusals SET phone = NULL, email = NULL, body = '{ERASED}' WHERE user_id = {{p}}"  # noqa: S608
_ERRORS = msgspec.json.Decoder(tuple[FieldError, ...])
_BRAZE = msgspec.json.Decoder(BrazeContext)
_ENCODER = msgspec.json.Encoder()


def _values(refusal: Refusal) -> tuple[Any, ...]:
    braze = refusal.braze
    return (
        refusal.id,
        refusal.at,
        refusal.http_status,
        refusal.detail,
        _ENCODER.encode(refusal.errors).decode(),
        refusal.user_id,
        refusal.channel,
        refusal.phone,
        refusal.email,
        braze.campaign_id,
        braze.dispatch_id,
        _ENCODER.encode(braze).decode(),
        refusal.content_type,
        refusal.body,
        refusal.message_id,
    )


def _refusal(row: Sequence[Any]) -> Refusal:
    return Refusal(
        id=row[0],
        at=row[1],
        http_status=row[2],
        detail=row[3],
        errors=_ERRORS.decode(row[4]),
        user_id=row[5],
        channel=row[6],
        phone=row[7],
        email=row[8],
        braze=_BRAZE.decode(row[11]),
        content_type=row[12],
        body=row[13],
        message_id=row[14],
    )


def _search(criteria: MessageFilter, limit: int, cursor: str | None, placeholder: str) -> tuple[str, list[object]]:
    """The page query; ``status`` and ``vendor`` are not refusal columns, so they must not be given."""
    if criteria.status is not None or criteria.vendor is not None:
        raise ValueError("refusals have no status or vendor")
    return search_query(
        criteria, limit=limit, cursor=cursor, columns=_COLUMNS, placeholder=placeholder, table="refusals"
    )


def _page(rows: Sequence[Sequence[Any]], limit: int) -> RefusalPage:
    items = [_refusal(row) for row in rows]
    if len(items) <= limit:
        return RefusalPage(items, None)
    last = items[limit - 1]
    return RefusalPage(items[:limit], encode_cursor(last.at, last.id))


class _SqliteBackend(Protocol):
    async def _read(self, op: Callable[[sqlite3.Connection], _T]) -> _T: ...

    async def _write(self, op: Callable[[sqlite3.Connection], object]) -> Any: ...


class SqliteRefusals:
    """The refusal methods of :class:`~gateway.store.base.Store` on SQLite."""

    async def add_refusal(self: _SqliteBackend, refusal: Refusal) -> None:
        """See :meth:`Store.add_refusal`."""
        statement = sql(_INSERT, "?")
        await self._write(lambda conn: conn.execute(statement, _values(refusal)))

    async def get_refusal(self: _SqliteBackend, refusal_id: str) -> Refusal | None:
        """See :meth:`Store.get_refusal`."""
        statement = sql(_GET, "?")
        row = await self._read(lambda conn: conn.execute(statement, (refusal_id,)).fetchone())
        return None if row is None else _refusal(row)

    async def search_refusals(
        self: _SqliteBackend, criteria: MessageFilter, *, limit: int, cursor: str | None = None
    ) -> RefusalPage:
        """See :meth:`Store.search_refusals`."""
        statement, params = _search(criteria, limit, cursor, "?")
        return await self._read(lambda conn: _page(conn.execute(statement, params).fetchall(), limit))

    async def count_refusals(self: _SqliteBackend, *, created_from: float, created_to: float) -> int:
        """See :meth:`Store.count_refusals`."""
        statement = sql(_COUNT, "?")
        count: int = await self._read(lambda conn: conn.execute(statement, (created_from, created_to)).fetchone()[0])
        return count

    async def purge_refusals(self: _SqliteBackend, *, created_before: float, limit: int) -> int:
        """See :meth:`Store.purge_refusals`."""
        statement = sql(_PURGE, "?")
        deleted: int = await self._write(lambda conn: conn.execute(statement, (created_before, limit)).rowcount)
        return deleted


class _PostgresBackend(Protocol):
    def _connection(self) -> AbstractAsyncContextManager[psycopg.AsyncConnection[Any]]: ...


class PostgresRefusals:
    """The refusal methods of :class:`~gateway.store.base.Store` on PostgreSQL."""

    async def add_refusal(self: _PostgresBackend, refusal: Refusal) -> None:
        """See :meth:`Store.add_refusal`."""
        async with self._connection() as conn:
            await conn.execute(sql(_INSERT, "%s"), _values(refusal))

    async def get_refusal(self: _PostgresBackend, refusal_id: str) -> Refusal | None:
        """See :meth:`Store.get_refusal`."""
        async with self._connection() as conn:
            row = await (await conn.execute(sql(_GET, "%s"), (refusal_id,))).fetchone()
        return None if row is None else _refusal(row)

    async def search_refusals(
        self: _PostgresBackend, criteria: MessageFilter, *, limit: int, cursor: str | None = None
    ) -> RefusalPage:
        """See :meth:`Store.search_refusals`."""
        statement, params = _search(criteria, limit, cursor, "%s")
        async with self._connection() as conn:
            rows = await (await conn.execute(statement, params)).fetchall()
        return _page(rows, limit)

    async def count_refusals(self: _PostgresBackend, *, created_from: float, created_to: float) -> int:
        """See :meth:`Store.count_refusals`."""
        async with self._connection() as conn:
            row = await (await conn.execute(sql(_COUNT, "%s"), (created_from, created_to))).fetchone()
        return int(row[0]) if row else 0

    async def purge_refusals(self: _PostgresBackend, *, created_before: float, limit: int) -> int:
        """See :meth:`Store.purge_refusals`."""
        async with self._connection() as conn:
            cursor = await conn.execute(sql(_PURGE, "%s"), (created_before, limit))
            return cursor.rowcount
