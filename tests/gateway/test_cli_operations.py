"""What an operator meets at the command line: version, help, start-up lines, worker logs, one-line failures."""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import httpx
import msgspec
import pytest

from tests.gateway.test_cli import GATEWAY, run

#: Longest wait for a started process to say or serve something.
_PATIENCE = 30.0


class _Running:
    """A started ``gateway`` process whose stderr lines are collected as they come."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        assert process.stderr is not None
        threading.Thread(target=self._read, args=(process.stderr,), daemon=True).start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.put(line)

    def wait_for(self, predicate: object, count: int = 1) -> list[str]:
        """Lines read until ``count`` of them match ``predicate`` (a substring)."""
        deadline = time.monotonic() + _PATIENCE
        while sum(str(predicate) in line for line in self.seen) < count:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"not seen {count}× {predicate!r} in: {self.seen}"
            try:
                self.seen.append(self.lines.get(timeout=remaining))
            except queue.Empty:
                continue
        return self.seen


@contextmanager
def _started(args: list[str], env: dict[str, str]) -> Iterator[_Running]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    process = subprocess.Popen(
        GATEWAY + args, env=clean | env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
    )
    try:
        yield _Running(process)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_version_is_printed() -> None:
    result = subprocess.run([*GATEWAY, "--version"], capture_output=True, text=True, timeout=30, check=False)
    assert (result.returncode, result.stdout.strip()) == (0, "gateway 0.1.0")


@pytest.mark.parametrize("command", ["serve", "worker", "migrate", "replay", "purge"])
def test_each_command_s_help_describes_it_and_names_its_variables(command: str) -> None:
    result = subprocess.run([*GATEWAY, command, "--help"], capture_output=True, text=True, timeout=30, check=False)
    text = " ".join(result.stdout.split())
    assert result.returncode == 0
    assert "GATEWAY_DATABASE_URL" in text
    assert len(text.split("options:")[0]) > 120, text  # a description, not only the usage line


@pytest.mark.parametrize("command", ["serve", "migrate"])
def test_an_unreachable_postgresql_is_one_line_at_start(command: str) -> None:
    result = run([command], {"GATEWAY_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/test"})
    assert result.returncode == 3
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("gateway: the database cannot be reached: PostgreSQL: connection failed")
    assert "Traceback" not in result.stderr


def test_an_unknown_log_level_is_one_line() -> None:
    result = run(["migrate"], {"GATEWAY_LOG_LEVEL": "verbose"})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "gateway: configuration error: GATEWAY_LOG_LEVEL='verbose' is not one of debug, info, warning, error, critical"
    ]


def test_a_worker_says_what_it_runs_and_does_not_warn_about_ingest_tokens(tmp_path: Path) -> None:
    with _started(["worker"], {"GATEWAY_DATABASE_URL": f"sqlite:///{tmp_path}/g.db"}) as worker:
        lines = worker.wait_for("gateway 0.1.0 worker")
    summary = msgspec.json.decode(next(line for line in lines if "gateway 0.1.0 worker" in line))
    assert summary["level"] == "info"
    assert "store SQLite" in summary["event"]
    assert "kakao nhn (emulated)" in summary["event"]
    assert not [line for line in lines if "GATEWAY_INGEST_TOKENS" in line or "GATEWAY_STAFF_TOKENS" in line]


def test_serve_takes_host_and_port_and_each_worker_process_logs(postgres_url: str) -> None:
    port = _free_port()
    env = {
        "GATEWAY_DATABASE_URL": postgres_url,
        "GATEWAY_SESSION_SECRET": "ab" * 32,
        "GATEWAY_INGEST_TOKENS": "t" * 16,
        "GATEWAY_STAFF_TOKENS": "ann:viewer:" + "s" * 16,
    }
    with _started(["serve", "--workers", "2", "--host", "127.0.0.1", "--port", str(port)], env) as server:
        lines = server.wait_for("gateway 0.1.0 serve", count=2)
        deadline = time.monotonic() + _PATIENCE
        while True:
            try:
                assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline
                time.sleep(0.2)
    summaries = [msgspec.json.decode(line) for line in lines if "gateway 0.1.0 serve" in line]
    assert "tokens: 1 ingest, 1 staff (0 operator, 1 viewer)" in summaries[0]["event"]
    assert "s" * 16 not in str(lines)
