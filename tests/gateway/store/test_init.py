from __future__ import annotations

from pathlib import Path

import pytest

from gateway.store import PostgresStore, SqliteStore, migrate, open_store
from gateway.store.migrator import load_migrations


def test_open_store_picks_the_backend_by_url(tmp_path: Path) -> None:
    assert isinstance(open_store(f"sqlite:///{tmp_path}/gateway.db"), SqliteStore)
    assert isinstance(open_store("postgresql://postgres@127.0.0.1:5432/test"), PostgresStore)


def test_open_store_rejects_an_unknown_scheme() -> None:
    with pytest.raises(ValueError, match="unsupported scheme 'mysql'"):
        open_store("mysql://db/gateway")


async def test_migrate_creates_a_sqlite_file_with_its_directory(tmp_path: Path) -> None:
    path = tmp_path / "var" / "gateway.db"

    assert await migrate(f"sqlite:///{path}") == [m.id for m in load_migrations("sqlite")]
    assert path.exists()
    assert await migrate(f"sqlite:///{path}") == []
