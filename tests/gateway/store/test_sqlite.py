"""What only the SQLite backend promises: a durable WAL file, plans that never read the whole queue."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from gateway.models import Status
from gateway.store import MessageFilter, SqliteStore, StoreUnavailable
from gateway.store.rows import message_columns
from gateway.store.search import encode_cursor, search_query
from gateway.store.sqlite import connect_sqlite, migrate_sqlite_file
from gateway.store.sqlite_writes import CLAIM_DUE_SQL, CLAIM_EXPIRED_SQL
from tests.gateway.store.factory import T0, new_message


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    store = SqliteStore(str(tmp_path / "nested" / "dir" / "gateway.db"))
    await store.open()
    yield store
    await store.close()


@pytest.fixture
def migrated(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    path = str(tmp_path / "plans.db")
    migrate_sqlite_file(path)
    conn = connect_sqlite(path)
    yield conn
    conn.close()


async def test_open_creates_the_directory_and_a_durable_wal_database(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "gateway.db"
    store = SqliteStore(str(path))
    await store.open()
    await store.close()

    with (
        contextlib.closing(sqlite3.connect(path)) as plain,
        contextlib.closing(connect_sqlite(str(path))) as store_conn,
    ):
        assert plain.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert store_conn.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL


def test_processes_opening_a_new_file_at_once_all_get_wal(tmp_path: Path) -> None:
    # SQLite refuses a racing journal-mode switch without waiting; the race is narrow, so try it many times.
    for attempt in range(60):
        path = str(tmp_path / f"race{attempt}.db")
        with ThreadPoolExecutor(3) as pool:
            modes = list(pool.map(_journal_mode_of_new_connection, [path] * 3))
        assert modes == ["wal"] * 3


def _journal_mode_of_new_connection(path: str) -> str:
    conn = connect_sqlite(path)
    try:
        mode: str = conn.execute("PRAGMA journal_mode").fetchone()[0]
        return mode
    finally:
        conn.close()


async def test_a_closed_store_refuses_writes(sqlite_store: SqliteStore) -> None:
    await sqlite_store.close()

    with pytest.raises(StoreUnavailable, match="not open"):
        await sqlite_store.add(new_message(), idempotency_window=60)


@pytest.mark.parametrize(("sql", "index"), [(CLAIM_DUE_SQL, "messages_due"), (CLAIM_EXPIRED_SQL, "messages_lease")])
def test_claim_reads_due_messages_in_index_order(migrated: sqlite3.Connection, sql: str, index: str) -> None:
    plan = " | ".join(row[3] for row in migrated.execute(f"EXPLAIN QUERY PLAN {sql}", (T0, "[]", 10)))

    assert f"SEARCH messages USING INDEX {index}" in plan
    assert "TEMP B-TREE" not in plan  # no sort: the LIMIT ends the scan


@pytest.mark.parametrize(
    ("criteria", "index"),
    [
        (MessageFilter(), "messages_created"),
        (MessageFilter(user_id="u", status=Status.DELIVERED, channel="kakao"), "messages_user"),
        (MessageFilter(phone="01012345678", user_id="u"), "messages_phone"),
        (MessageFilter(email="j@example.com", vendor="sendgrid"), "messages_email"),
        (MessageFilter(dispatch_id="d", campaign_id="c"), "messages_dispatch"),
        (MessageFilter(campaign_id="c", status=Status.DEAD), "messages_campaign"),
        (MessageFilter(status=Status.DEAD, vendor="nhn"), "messages_status"),
        (MessageFilter(vendor="nhn", channel="lms", created_from=T0), "messages_vendor"),
        (MessageFilter(channel="lms"), "messages_channel"),
    ],
)
def test_search_reads_one_index_range_newest_first(
    migrated: sqlite3.Connection, criteria: MessageFilter, index: str
) -> None:
    sql, params = search_query(
        criteria,
        limit=50,
        cursor=encode_cursor(T0, "id"),
        columns=message_columns(),
        placeholder="?",
        sqlite=True,
    )

    plan = " | ".join(row[3] for row in migrated.execute(f"EXPLAIN QUERY PLAN {sql}", params))

    assert plan.startswith(f"SEARCH messages USING INDEX {index} ")
    assert "TEMP B-TREE" not in plan
