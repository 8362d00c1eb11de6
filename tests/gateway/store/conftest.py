"""One store suite, two backends: every test taking ``store`` or ``database_url`` runs on SQLite and PostgreSQL.

PostgreSQL is ``GATEWAY_TEST_DATABASE_URL`` (default ``postgresql://postgres@127.0.0.1:5432/test``); each test
gets a fresh schema. An unreachable PostgreSQL fails the tests rather than skipping them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import psycopg
import pytest

from gateway.store import Store, open_store
from tests.gateway.store.factory import StoreFactory

POSTGRES_URL = os.environ.get("GATEWAY_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """The URL of a fresh, empty schema in the test PostgreSQL database, dropped afterwards."""
    schema = f"test_{uuid.uuid4().hex[:16]}"
    try:
        admin = await psycopg.AsyncConnection.connect(POSTGRES_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is unreachable (set GATEWAY_TEST_DATABASE_URL): {exc}")
    async with admin:
        await admin.execute(f"CREATE SCHEMA {schema}")
        separator = "&" if "?" in POSTGRES_URL else "?"
        yield f"{POSTGRES_URL}{separator}options=-c%20search_path%3D{schema}"
        await admin.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database of each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/var/gateway.db"
    url: str = request.getfixturevalue("postgres_url")
    return url


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
