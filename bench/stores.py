"""The database a gateway run writes to, and the count of what it stored.

SQLite lives in the run's temporary directory. PostgreSQL always uses a dedicated ``bench`` database on the
server the given URL names (created on first use), never the URL's own database: the test suite uses that one.
Only the gateway's tables are emptied, before and after the run, so runs do not accumulate.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

__all__ = ("BENCH_DATABASE", "GATEWAY_TABLES", "PostgresTarget", "SqliteTarget", "Target", "open_target")

BENCH_DATABASE = "bench"
GATEWAY_TABLES = ("messages", "attempts", "events", "idempotency_keys")
# Fallback children repeat their parent's user id; only the messages Braze sent count.
_COUNT = "SELECT status, count(*) FROM messages WHERE user_id LIKE {} AND parent_id IS NULL GROUP BY status"


class Target(Protocol):
    """Where the gateway stores messages during a run."""

    @property
    def url(self) -> str:
        """The ``GATEWAY_DATABASE_URL`` of the run."""
        ...

    @property
    def label(self) -> str:
        """A short name for the report (never a password)."""
        ...

    def count_stored(self, user_prefix: str) -> dict[str, int]:
        """Messages stored whose ``userId`` starts with ``user_prefix``, per status."""
        ...


class SqliteTarget:
    """A fresh SQLite file; counted through a read-only connection."""

    def __init__(self, directory: Path) -> None:
        self._path = directory / "bench.db"

    @property
    def url(self) -> str:
        return f"sqlite:///{self._path}"

    @property
    def label(self) -> str:
        return "SQLite"

    def count_stored(self, user_prefix: str) -> dict[str, int]:
        with sqlite3.connect(f"{self._path.as_uri()}?mode=ro", uri=True) as conn:
            return dict(conn.execute(_COUNT.format("?"), (f"{user_prefix}%",)).fetchall())


class PostgresTarget:
    """The ``bench`` database next to the one ``server_url`` names."""

    def __init__(self, server_url: str) -> None:
        parts = urlsplit(server_url)
        self._url = urlunsplit(parts._replace(path=f"/{BENCH_DATABASE}"))
        self._admin_url = urlunsplit(parts._replace(path="/postgres"))

    @property
    def url(self) -> str:
        return self._url

    @property
    def label(self) -> str:
        return f"PostgreSQL ({urlsplit(self._url).hostname}/{BENCH_DATABASE})"

    def create(self) -> None:
        """Create the ``bench`` database unless it exists (the gateway migrates it at start)."""
        with psycopg.connect(self._admin_url, autocommit=True) as conn:
            found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (BENCH_DATABASE,)).fetchone()
            if not found:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(BENCH_DATABASE)))

    def empty(self) -> None:
        """Empty the gateway's tables (and the tables referencing them), if the gateway has created them yet."""
        with psycopg.connect(self._url, autocommit=True) as conn:
            present = [
                name
                for name in GATEWAY_TABLES
                if conn.execute("SELECT to_regclass(%s)", (f"public.{name}",)).fetchone() != (None,)
            ]
            if present:
                tables = sql.SQL(", ").join(sql.Identifier(name) for name in present)
                # CASCADE: newer tables (receipts, ...) reference messages; all of them live in the bench database.
                conn.execute(sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(tables))

    def count_stored(self, user_prefix: str) -> dict[str, int]:
        with psycopg.connect(self._url) as conn:
            return dict(conn.execute(_COUNT.format("%s"), (f"{user_prefix}%",)).fetchall())


@contextmanager
def open_target(database_url: str | None, directory: Path) -> Iterator[Target]:
    """The run's store: SQLite in ``directory`` by default, else the ``bench`` database of a PostgreSQL URL."""
    if database_url is None:
        yield SqliteTarget(directory)
        return
    target = PostgresTarget(database_url)
    target.create()
    target.empty()
    try:
        yield target
    finally:
        target.empty()
