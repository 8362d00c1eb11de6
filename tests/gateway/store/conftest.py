"""One store suite, two backends: every test taking ``store`` or ``database_url`` runs on SQLite and PostgreSQL.

PostgreSQL is ``GATEWAY_TEST_DATABASE_URL`` (default ``postgresql://postgres@127.0.0.1:5432/test``); each test
gets a fresh schema. An unreachable PostgreSQL fails the tests rather than skipping them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from gateway.store import Store, open_store
from tests.gateway.store.factory import StoreFactory


@pytest.fixture
async def make_store(database_url: str) -> AsyncIterator[StoreFactory]:
    """Open more stores on the same database (each with its own connections); all are closed afterwards."""
    opened: list[Store] = []

    async def make() -> Store:
        store = open_store(database_url)
        await store.open()
        opened.append(store)
        return store

    yield make
    for store in opened:
        await store.close()


@pytest.fixture
async def store(make_store: StoreFactory) -> Store:
    """An open store on a fresh database."""
    return await make_store()
