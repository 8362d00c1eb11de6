"""The ``gateway`` console script, run as a real process."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from gateway.retention import DAY
from gateway.store import SqliteStore
from tests.gateway.store.factory import new_message

GATEWAY = [sys.executable, "-m", "gateway.cli"]


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    return subprocess.run(GATEWAY + args, env=clean | env, capture_output=True, text=True, timeout=60, check=False)


def test_migrate_applies_once_then_nothing(tmp_path: Path) -> None:
    env = {"GATEWAY_DATABASE_URL": f"sqlite:///{tmp_path}/g.db"}
    first = run(["migrate"], env)
    assert first.returncode == 0, first.stderr
    assert "applied" in first.stdout
    assert "0001" in first.stdout
    second = run(["migrate"], env)
    assert second.stdout.strip() == "applied 0 migration(s)"


def test_impossible_setting_stops_with_one_line(tmp_path: Path) -> None:
    result = run(["serve"], {"GATEWAY_KAKAO_VENDOR": "kakaoi", "GATEWAY_DATABASE_URL": f"sqlite:///{tmp_path}/g.db"})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "GATEWAY_KAKAO_VENDOR" in lines[0]


def test_several_workers_without_a_session_secret_stop_with_one_line() -> None:
    env = {"GATEWAY_DATABASE_URL": "postgresql://127.0.0.1:5432/test"}

    result = run(["serve", "--workers", "2"], env)

    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert "GATEWAY_SESSION_SECRET" in line
    assert "--workers" in line


def test_unknown_database_scheme_is_one_line(tmp_path: Path) -> None:
    result = run(["migrate"], {"GATEWAY_DATABASE_URL": "mysql://user:secret@host/db"})
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "secret" not in result.stderr


def test_replay_of_an_unknown_id_fails_clearly(tmp_path: Path) -> None:
    env = {"GATEWAY_DATABASE_URL": f"sqlite:///{tmp_path}/g.db"}
    result = run(["replay", "no-such-id"], env)
    assert result.returncode == 1
    assert "no-such-id: not replayed" in result.stderr


async def _stored(path: Path, *created: float) -> list[str]:
    """Messages added directly to the SQLite store at ``path``, created at the given times."""
    store = SqliteStore(str(path))
    await store.open()
    news = [new_message(created_at=at) for at in created]
    for new in news:
        await store.add(new, idempotency_window=60)
    await store.close()
    return [new.id for new in news]


def _ids(path: Path) -> list[str]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return [row[0] for row in conn.execute("SELECT id FROM messages ORDER BY id")]


async def test_purge_deletes_what_is_older_than_the_retention_and_says_how_many(tmp_path: Path) -> None:
    now = time.time()
    await _stored(tmp_path / "g.db", now - 40 * DAY, now - 31 * DAY)
    young = await _stored(tmp_path / "g.db", now - 29 * DAY)
    env = {"GATEWAY_DATABASE_URL": f"sqlite:///{tmp_path}/g.db", "GATEWAY_RETENTION_DAYS": "30"}

    result = run(["purge"], env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "purged 2 message(s) and refused request(s) older than 30 days"
    assert _ids(tmp_path / "g.db") == young
    assert (
        run(["purge", "--days", "7"], env).stdout.strip()
        == "purged 1 message(s) and refused request(s) older than 7 days"
    )
    assert _ids(tmp_path / "g.db") == []


async def test_replay_queues_a_finished_message_again(tmp_path: Path) -> None:
    [message_id] = await _stored(tmp_path / "g.db", time.time())
    with contextlib.closing(sqlite3.connect(tmp_path / "g.db")) as conn, conn:
        conn.execute("UPDATE messages SET status = 'dead', next_attempt_at = NULL")

    result = run(["replay", message_id], {"GATEWAY_DATABASE_URL": f"sqlite:///{tmp_path}/g.db"})

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{message_id}: queued"
    with contextlib.closing(sqlite3.connect(tmp_path / "g.db")) as conn:
        assert conn.execute("SELECT status, replayed_at IS NOT NULL FROM messages").fetchone() == ("queued", 1)


async def _audit(path: Path) -> list[tuple[str, str, str, str, str]]:
    """The audit log of the SQLite store at ``path``, oldest first: staff, role, action, target, detail."""
    store = SqliteStore(str(path))
    await store.open()
    page = await store.audit_log(limit=50)
    await store.close()
    return [(e.staff, e.role, e.action, e.target, e.detail) for e in reversed(page.items)]


async def test_replay_is_written_to_the_audit_log(tmp_path: Path) -> None:
    [message_id] = await _stored(tmp_path / "g.db", time.time())
    with contextlib.closing(sqlite3.connect(tmp_path / "g.db")) as conn, conn:
        conn.execute("UPDATE messages SET status = 'dead', next_attempt_at = NULL")

    result = run(["replay", message_id, "no-such-id"], {"GATEWAY_DATABASE_URL": f"sqlite:///{tmp_path}/g.db"})

    assert result.returncode == 1
    assert result.stdout.strip() == f"{message_id}: queued"
    assert await _audit(tmp_path / "g.db") == [("cli", "operator", "replay", message_id, "was dead")]


async def test_replay_refuses_a_message_whose_personal_data_was_erased(tmp_path: Path) -> None:
    [message_id] = await _stored(tmp_path / "g.db", time.time())
    with contextlib.closing(sqlite3.connect(tmp_path / "g.db")) as conn, conn:
        conn.execute("UPDATE messages SET status = 'dead', next_attempt_at = NULL")
    store = SqliteStore(str(tmp_path / "g.db"))
    await store.open()
    detail = await store.get(message_id)
    assert detail is not None
    assert await store.erase_user(detail.record.message.user_id, "test: erased", now=time.time()) == 1
    await store.close()

    result = run(["replay", message_id], {"GATEWAY_DATABASE_URL": f"sqlite:///{tmp_path}/g.db"})

    assert result.returncode == 1
    assert "personal data was erased" in result.stderr
    with contextlib.closing(sqlite3.connect(tmp_path / "g.db")) as conn:
        assert conn.execute("SELECT status FROM messages").fetchone() == ("dead",)
    assert await _audit(tmp_path / "g.db") == []


def test_a_bad_price_stops_the_start_with_one_line(tmp_path: Path) -> None:
    env = {"GATEWAY_PRICES": "kakao=15,lms=thirty", "GATEWAY_DATABASE_URL": f"sqlite:///{tmp_path}/g.db"}
    result = run(["serve"], env)
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert "GATEWAY_PRICES entry 'lms=thirty'" in line
