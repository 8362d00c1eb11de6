from __future__ import annotations

import pytest

from gateway.store.urls import PostgresUrl, SqliteUrl, parse_database_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///./var/gateway.db", SqliteUrl("./var/gateway.db")),
        ("sqlite:///gateway.db", SqliteUrl("gateway.db")),
        ("sqlite:////srv/gateway/gateway.db", SqliteUrl("/srv/gateway/gateway.db")),
        ("postgresql://gw:secret@db:5432/gateway", PostgresUrl("postgresql://gw:secret@db:5432/gateway")),
        ("postgres://db/gateway?sslmode=require", PostgresUrl("postgres://db/gateway?sslmode=require")),
    ],
)
def test_parses_supported_urls(url: str, expected: SqliteUrl | PostgresUrl) -> None:
    assert parse_database_url(url) == expected


@pytest.mark.parametrize("url", ["sqlite:///:memory:", "sqlite:///", "sqlite:///file:x?mode=memory"])
def test_rejects_sqlite_without_a_file(url: str) -> None:
    with pytest.raises(ValueError, match="SQLite needs a database file"):
        parse_database_url(url)


@pytest.mark.parametrize("url", ["mysql://root:hunter2@db/gateway", "sqlite://relative.db", "gateway.db"])
def test_rejects_other_schemes_in_one_line_without_the_password(url: str) -> None:
    with pytest.raises(ValueError, match="unsupported scheme") as caught:
        parse_database_url(url)

    message = str(caught.value)
    assert "\n" not in message
    assert "hunter2" not in message
