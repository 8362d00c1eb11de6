"""What only the PostgreSQL backend promises: claim plans that never read the whole queue, clear failures."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import psycopg
import pytest

from gateway.store import PostgresStore, StoreUnavailable, migrate
from gateway.store.base import AddResult
from gateway.store.group import AddOp
from gateway.store.postgres import _ADD_BATCH, CLAIM_SQL, _add_many
from tests.gateway.store.factory import T0, new_message

_UNREACHABLE = "postgresql://postgres@127.0.0.1:1/none"
# Enough rows for the planner to prefer indexes; the statuses mirror a backlog (mostly queued).
_BACKLOG = """
INSERT INTO messages (id, idempotency_key, channel, vendor, status, user_id, created_at, updated_at,
    next_attempt_at, lease_until, message, raw_body)
SELECT lpad(g::text, 20, '0'), 'k' || g, 'kakao', 'nhn',
    CASE WHEN g % 10 < 7 THEN 'queued' WHEN g % 10 < 9 THEN 'delivered' ELSE 'sending' END,
    'u' || g, g, g, g, CASE WHEN g % 10 = 9 THEN g + 60 END, '{"channel": "kakao", "user_id": "u", "content": "x"}',
    ''::bytea
FROM generate_series(1, 5000) AS g
"""


@pytest.fixture
async def backlog(postgres_url: str) -> AsyncIterator[psycopg.AsyncConnection[tuple[object, ...]]]:
    await migrate(postgres_url)
    async with await psycopg.AsyncConnection.connect(postgres_url, autocommit=True) as conn:
        await conn.execute(_BACKLOG)
        await conn.execute("ANALYZE messages")
        yield conn


async def test_claim_reads_both_partial_indexes_with_a_limit(
    backlog: psycopg.AsyncConnection[tuple[object, ...]],
) -> None:
    params = {"now": T0, "limit": 10, "until": T0 + 60, "exclude": []}
    cursor = await backlog.execute(f"EXPLAIN {CLAIM_SQL}", params)

    plan = "\n".join(str(row[0]) for row in await cursor.fetchall())

    assert "Index Scan using messages_due" in plan
    assert "Index Scan using messages_lease" in plan
    assert "Seq Scan" not in plan


async def test_an_unreachable_database_is_store_unavailable() -> None:
    store = PostgresStore(_UNREACHABLE, timeout=1)

    with pytest.raises(StoreUnavailable):
        await store.open()
    with pytest.raises(StoreUnavailable):
        await migrate(_UNREACHABLE)
    assert await store.ping() is False
    await store.close()


class _KeyVanishes:
    """A connection on which the first message's key row is deleted right after the batch insert (an erasure)."""

    def __init__(self, conn: psycopg.AsyncConnection[tuple[object, ...]], key: str) -> None:
        self._conn, self._key, self._done = conn, key, False

    async def execute(
        self, query: str, params: Sequence[Any] | Mapping[str, Any] | None = None
    ) -> psycopg.AsyncCursor[tuple[object, ...]]:
        cursor = await self._conn.execute(query, params)
        if not self._done and query is _ADD_BATCH:
            self._done = True
            await self._conn.execute("DELETE FROM idempotency_keys WHERE key = %s", (self._key,))
        return cursor


async def test_an_add_whose_key_row_vanishes_after_the_insert_is_added_anew(postgres_url: str) -> None:
    await migrate(postgres_url)
    store = PostgresStore(postgres_url)
    await store.open()
    try:
        first = new_message(key="k-vanishing")
        await store.add(first, idempotency_window=3600)
        repeat = new_message(key="k-vanishing")
        async with await psycopg.AsyncConnection.connect(postgres_url, autocommit=True) as conn:
            vanishing = _KeyVanishes(conn, "k-vanishing")
            [result] = await _add_many(vanishing, [AddOp(repeat, 3600)])  # type: ignore[arg-type]
    finally:
        await store.close()

    assert result == AddResult(repeat.id, duplicate=False)
