"""Which backend a ``GATEWAY_DATABASE_URL`` names."""

from __future__ import annotations

import msgspec

__all__ = ("PostgresUrl", "SqliteUrl", "parse_database_url")

_SQLITE = "sqlite:///"
_POSTGRES = ("postgresql://", "postgres://")


class SqliteUrl(msgspec.Struct, frozen=True):
    """A SQLite database file."""

    path: str


class PostgresUrl(msgspec.Struct, frozen=True):
    """A PostgreSQL connection string, as libpq takes it."""

    conninfo: str


def parse_database_url(url: str) -> SqliteUrl | PostgresUrl:
    """Return the backend and its address for ``url``.

    ``sqlite:///./var/gateway.db`` is relative to the working directory, ``sqlite:////abs/path.db`` absolute.

    Raises:
        ValueError: The scheme is unknown or the SQLite database is not a file. The message never repeats the
            URL itself, which may hold a password.
    """
    if url.startswith(_POSTGRES):
        return PostgresUrl(url)
    if url.startswith(_SQLITE):
        path = url.removeprefix(_SQLITE)
        # An in-memory database would lose every accepted message on restart.
        if not path or path == ":memory:" or path.startswith("file:"):
            raise ValueError("GATEWAY_DATABASE_URL: SQLite needs a database file, e.g. sqlite:///./var/gateway.db")
        return SqliteUrl(path)
    scheme = url.split(":", 1)[0] if ":" in url else url[:20]
    raise ValueError(
        f"GATEWAY_DATABASE_URL: unsupported scheme {scheme!r}: use sqlite:///path/to/file.db or postgresql://..."
    )
