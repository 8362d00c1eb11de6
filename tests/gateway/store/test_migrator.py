from __future__ import annotations

import sqlite3

import pytest

from gateway.store.migrator import _sqlite_statements, load_migrations, migrate_sqlite


def test_both_dialects_have_the_same_migrations_in_order() -> None:
    sqlite_ids = [m.id for m in load_migrations("sqlite")]

    assert sqlite_ids == [m.id for m in load_migrations("postgres")]
    assert sqlite_ids == sorted(sqlite_ids)
    assert sqlite_ids[0] == "0001_initial"


def test_sqlite_migrations_apply_once_and_are_recorded() -> None:
    conn = sqlite3.connect(":memory:", isolation_level=None)

    first = migrate_sqlite(conn)
    second = migrate_sqlite(conn)

    every = [m.id for m in load_migrations("sqlite")]
    assert (first, second) == (every, [])
    assert conn.execute("SELECT id FROM schema_migrations ORDER BY id").fetchall() == [(id_,) for id_ in every]
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"messages", "attempts", "events", "idempotency_keys"} <= tables


def test_a_script_splits_into_whole_statements() -> None:
    script = "-- a comment\nCREATE TABLE a (x TEXT DEFAULT ';');\nCREATE INDEX b\n  ON a (x);\n-- trailing\n"

    assert list(_sqlite_statements(script)) == [
        "-- a comment\nCREATE TABLE a (x TEXT DEFAULT ';');\n",
        "CREATE INDEX b\n  ON a (x);\n",
    ]


def test_a_statement_without_its_semicolon_is_an_error() -> None:
    with pytest.raises(ValueError, match="closing ';'"):
        list(_sqlite_statements("CREATE TABLE a (x TEXT);\nCREATE TABLE b (y TEXT)\n"))
