"""Versioned schema migrations: SQL files applied in order inside transactions, recorded by id.

A small runner rather than yoyo-migrations: yoyo is synchronous and opens its own connections, while the store
migrates on its own sqlite3 writer thread and on a psycopg 3 async connection under a PostgreSQL advisory lock.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from importlib import resources
from typing import Any, Literal

import msgspec
import psycopg

__all__ = ("Migration", "load_migrations", "migrate_postgres", "migrate_sqlite")

_VERSION_TABLE = "CREATE TABLE IF NOT EXISTS schema_migrations (id text PRIMARY KEY, applied_at double precision)"
#: Any fixed number: every gateway process of one database takes this lock while it migrates.
_LOCK_KEY = 0x6761746577617931


class Migration(msgspec.Struct, frozen=True):
    """One SQL file; ``id`` is its name without ``.sql`` (``0001_initial``)."""

    id: str
    sql: str


def load_migrations(dialect: Literal["sqlite", "postgres"]) -> list[Migration]:
    """Return the migrations of ``dialect`` in the order they apply."""
    folder = resources.files("gateway.store").joinpath("migrations", dialect)
    found = [
        Migration(entry.name.removesuffix(".sql"), entry.read_text("utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".sql")
    ]
    return sorted(found, key=lambda migration: migration.id)


def migrate_sqlite(conn: sqlite3.Connection) -> list[str]:
    """Apply pending migrations on an autocommit (``isolation_level=None``) connection; return their ids.

    One ``BEGIN IMMEDIATE`` holds the database's write lock for the whole run (SQLite's DDL is transactional),
    so a second process waits and then finds nothing left to apply, as the PostgreSQL advisory lock does.
    """
    applied = []
    conn.execute("BEGIN IMMEDIATE")
    with conn:
        # Inside the write lock: outside it, a concurrent commit would turn this write into SQLITE_BUSY_SNAPSHOT.
        conn.execute(_VERSION_TABLE)
        for migration in load_migrations("sqlite"):
            if conn.execute("SELECT 1 FROM schema_migrations WHERE id = ?", (migration.id,)).fetchone():
                continue
            # executescript() would commit first; statements one by one stay inside this transaction.
            for statement in _sqlite_statements(migration.sql):
                conn.execute(statement)
            conn.execute("INSERT INTO schema_migrations VALUES (?, ?)", (migration.id, time.time()))
            applied.append(migration.id)
    return applied


async def migrate_postgres(conn: psycopg.AsyncConnection[Any]) -> list[str]:
    """Apply pending migrations on an autocommit connection; return their ids.

    The session advisory lock serialises processes that start at once; each migration is one transaction.
    """
    await conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
    try:
        await conn.execute(_VERSION_TABLE)
        applied = []
        for migration in load_migrations("postgres"):
            async with conn.transaction():
                cursor = await conn.execute("SELECT 1 FROM schema_migrations WHERE id = %s", (migration.id,))
                if await cursor.fetchone():
                    continue
                # Without parameters psycopg sends the simple protocol, which runs a multi-statement script.
                await conn.execute(migration.sql.encode())
                await conn.execute("INSERT INTO schema_migrations VALUES (%s, %s)", (migration.id, time.time()))
            applied.append(migration.id)
        return applied
    finally:
        await conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))


def _sqlite_statements(script: str) -> Iterator[str]:
    """Split a script into complete statements (comments stay attached to the statement that follows)."""
    statement = ""
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            yield statement
            statement = ""
    if any(line.strip() and not line.strip().startswith("--") for line in statement.splitlines()):
        raise ValueError("a migration statement lacks its closing ';'")
