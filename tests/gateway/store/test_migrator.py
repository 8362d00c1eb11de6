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


def test_a_database_migrated_before_polled_receipts_gets_the_index_of_every_polled_product() -> None:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.execute("CREATE TABLE schema_migrations (id text PRIMARY KEY, applied_at double precision)")
    for migration in load_migrations("sqlite"):
        if migration.id >= "0007":
            break
        for statement in _sqlite_statements(migration.sql):
            conn.execute(statement)
        conn.execute("INSERT INTO schema_migrations VALUES (?, 0)", (migration.id,))
    # The index such a database has: 0002 created it for one vendor's email before polling was a capability.
    conn.execute(
        "CREATE INDEX messages_result_poll ON messages (next_attempt_at, updated_at) "
        "WHERE status = 'accepted' AND channel = 'email' AND vendor = 'nhn'"
    )

    assert migrate_sqlite(conn)[0] == "0007_polled_receipts"  # then any later migration

    (index,) = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'messages_result_poll'").fetchone()
    assert "vendor, channel, next_attempt_at, updated_at" in index
    assert "'nhn'" not in index
    assert "reason" in {row[1] for row in conn.execute("PRAGMA table_info(receipts)")}
