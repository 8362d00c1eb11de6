"""The image upload cache of :class:`~gateway.store.base.Store` (table ``image_uploads``), on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol, TypeVar

import psycopg

from gateway.store.rows_admin import sql

__all__ = ("PostgresImages", "SqliteImages")

_T = TypeVar("_T")
_RECENT = (
    "SELECT vendor_url FROM image_uploads WHERE vendor = {p} AND source_url = {p} AND checked_at >= {p} "
    "ORDER BY checked_at DESC LIMIT 1"
)
_BY_CONTENT = "SELECT vendor_url FROM image_uploads WHERE vendor = {p} AND source_url = {p} AND sha256 = {p}"
# A second process that uploaded the same image meanwhile: its URL is as good; keep the newest.
_SAVE = (
    "INSERT INTO image_uploads (vendor, source_url, sha256, vendor_url, checked_at) VALUES ({p}, {p}, {p}, {p}, {p}) "
    "ON CONFLICT (vendor, source_url, sha256) DO UPDATE SET vendor_url = excluded.vendor_url, "
    "checked_at = excluded.checked_at"
)
_FORGET = "DELETE FROM image_uploads WHERE vendor = {p} AND vendor_url = {p}"


class _SqliteBackend(Protocol):
    async def _read(self, op: Callable[[sqlite3.Connection], _T]) -> _T: ...

    async def _write(self, op: Callable[[sqlite3.Connection], object]) -> Any: ...


class SqliteImages:
    """The image upload cache on SQLite."""

    async def recent_image_upload(self: _SqliteBackend, vendor: str, source_url: str, *, since: float) -> str | None:
        """See :meth:`Store.recent_image_upload`."""
        statement = sql(_RECENT, "?")
        row = await self._read(lambda conn: conn.execute(statement, (vendor, source_url, since)).fetchone())
        return None if row is None else str(row[0])

    async def image_upload(self: _SqliteBackend, vendor: str, source_url: str, sha256: str) -> str | None:
        """See :meth:`Store.image_upload`."""
        statement = sql(_BY_CONTENT, "?")
        row = await self._read(lambda conn: conn.execute(statement, (vendor, source_url, sha256)).fetchone())
        return None if row is None else str(row[0])

    async def save_image_upload(
        self: _SqliteBackend, vendor: str, source_url: str, sha256: str, vendor_url: str, *, now: float
    ) -> None:
        """See :meth:`Store.save_image_upload`."""
        statement = sql(_SAVE, "?")
        await self._write(lambda conn: conn.execute(statement, (vendor, source_url, sha256, vendor_url, now)))

    async def forget_image_upload(self: _SqliteBackend, vendor: str, vendor_url: str) -> int:
        """See :meth:`Store.forget_image_upload`."""
        statement = sql(_FORGET, "?")
        forgotten: int = await self._write(lambda conn: conn.execute(statement, (vendor, vendor_url)).rowcount)
        return forgotten


class _PostgresBackend(Protocol):
    def _connection(self) -> AbstractAsyncContextManager[psycopg.AsyncConnection[Any]]: ...


class PostgresImages:
    """The image upload cache on PostgreSQL."""

    async def recent_image_upload(self: _PostgresBackend, vendor: str, source_url: str, *, since: float) -> str | None:
        """See :meth:`Store.recent_image_upload`."""
        async with self._connection() as conn:
            row = await (await conn.execute(sql(_RECENT, "%s"), (vendor, source_url, since))).fetchone()
        return None if row is None else str(row[0])

    async def image_upload(self: _PostgresBackend, vendor: str, source_url: str, sha256: str) -> str | None:
        """See :meth:`Store.image_upload`."""
        async with self._connection() as conn:
            row = await (await conn.execute(sql(_BY_CONTENT, "%s"), (vendor, source_url, sha256))).fetchone()
        return None if row is None else str(row[0])

    async def save_image_upload(
        self: _PostgresBackend, vendor: str, source_url: str, sha256: str, vendor_url: str, *, now: float
    ) -> None:
        """See :meth:`Store.save_image_upload`."""
        async with self._connection() as conn:
            await conn.execute(sql(_SAVE, "%s"), (vendor, source_url, sha256, vendor_url, now))

    async def forget_image_upload(self: _PostgresBackend, vendor: str, vendor_url: str) -> int:
        """See :meth:`Store.forget_image_upload`."""
        async with self._connection() as conn:
            cursor = await conn.execute(sql(_FORGET, "%s"), (vendor, vendor_url))
        return cursor.rowcount
