"""The ``gateway`` console script, run as a real process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
