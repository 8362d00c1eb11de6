"""What only the PostgreSQL backend promises: claim plans that never read the whole queue, clear failures."""

from __future__ import annotations

from collections.abc import AsyncIterator

import psycopg
import pytest

from gateway.store import PostgresStore, StoreUnavailable, migrate
from gateway.store.postgres import CLAIM_SQL
from tests.gateway.store.factory import T0

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
