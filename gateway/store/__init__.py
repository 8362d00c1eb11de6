"""Durable storage of messages: the :class:`Store` contract and its SQLite and PostgreSQL backends.

:func:`open_store` picks the backend from ``GATEWAY_DATABASE_URL``; :func:`migrate` applies pending schema
migrations for ``gateway migrate``.

See docs/ARCHITECTURE.md, "The store".
"""

from __future__ import annotations

import asyncio
import sqlite3

import psycopg

from gateway.store.base import AddResult, MessageFilter, Page, StaleTransition, Store, StoreUnavailable
from gateway.store.migrator import migrate_postgres
from gateway.store.postgres import PostgresStore
from gateway.store.sqlite import SqliteStore, migrate_sqlite_file
from gateway.store.urls import SqliteUrl, parse_database_url

__all__ = (
    "AddResult",
    "MessageFilter",
    "Page",
    "PostgresStore",
    "SqliteStore",
    "StaleTransition",
    "Store",
    "StoreUnavailable",
    "migrate",
    "open_store",
)


def open_store(database_url: str) -> Store:
    """Return the store for ``database_url``, not yet connected: ``await store.open()`` connects and migrates.

    Raises:
        ValueError: The URL names no supported backend (one line, without the URL's credentials).
    """
    target = parse_database_url(database_url)
    if isinstance(target, SqliteUrl):
        return SqliteStore(target.path)
    return PostgresStore(target.conninfo)


async def migrate(database_url: str) -> list[str]:
    """Apply pending migrations to the database at ``database_url``; return the ids applied.

    Raises:
        ValueError: The URL names no supported backend.
        StoreUnavailable: The database cannot be reached.
    """
    target = parse_database_url(database_url)
    if isinstance(target, SqliteUrl):
        try:
            return await asyncio.to_thread(migrate_sqlite_file, target.path)
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"SQLite: {exc}") from exc
    try:
        async with await psycopg.AsyncConnection.connect(target.conninfo, autocommit=True) as conn:
            return await migrate_postgres(conn)
    except psycopg.OperationalError as exc:
        raise StoreUnavailable(f"PostgreSQL: {exc}") from exc
