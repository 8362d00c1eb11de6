"""The server under test: one uvicorn process on a free loopback port, started the same way for every app."""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import msgspec

__all__ = ("AppSpec", "Server", "cpu_seconds", "serve", "server_env", "uvicorn_command")

_READY_TIMEOUT_S = 60.0
_STOP_TIMEOUT_S = 30.0


class AppSpec(msgspec.Struct, frozen=True):
    """An app factory for ``uvicorn --factory`` and where it is imported from.

    Attributes:
        factory: ``module:function``.
        app_dir: Directory put on ``sys.path`` before the import.
        env: Environment of the server process (the caller's environment is not inherited).
    """

    factory: str
    app_dir: Path
    env: dict[str, str]


class Server(msgspec.Struct, frozen=True):
    """A running server: its process id and base URL."""

    pid: int
    base_url: str


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _fast_options() -> list[str]:
    """uvloop and httptools when installed, so both apps get the same (fastest available) server stack."""
    options = []
    if importlib.util.find_spec("uvloop"):
        options.append("--loop=uvloop")
    if importlib.util.find_spec("httptools"):
        options.append("--http=httptools")
    return options


def uvicorn_command(spec: AppSpec, port: int) -> list[str]:
    """The uvicorn command line: one worker, no access log, warnings only."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        spec.factory,
        f"--app-dir={spec.app_dir}",
        "--host=127.0.0.1",
        f"--port={port}",
        "--workers=1",
        "--no-access-log",
        "--log-level=warning",
        *_fast_options(),
    ]


def _wait_ready(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + _READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}:\n{_tail(log)}")
        try:
            with urllib.request.urlopen(url, timeout=1) as answer:  # noqa: S310 - a fixed loopback http URL
                if answer.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    raise RuntimeError(f"the server was not ready within {_READY_TIMEOUT_S:g} s:\n{_tail(log)}")


def _tail(log: Path, lines: int = 30) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop gracefully (SIGINT: the lifespan closes the store), kill only if it hangs."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=_STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def serve(spec: AppSpec, log: Path, health_path: str = "/healthz") -> Iterator[Server]:
    """Start ``spec`` with uvicorn, wait until ``health_path`` answers 200, and stop it on exit.

    Args:
        spec: The app to serve.
        log: Receives the server's stdout and stderr (shown when it fails to start).
        health_path: The readiness probe.
    """
    port = _free_port()
    with log.open("wb") as sink:
        process = subprocess.Popen(
            uvicorn_command(spec, port), cwd=spec.app_dir, env=spec.env, stdout=sink, stderr=subprocess.STDOUT
        )
    try:
        base_url = f"http://127.0.0.1:{port}"
        _wait_ready(process, base_url + health_path, log)
        yield Server(process.pid, base_url)
    finally:
        _stop(process)


def server_env(extra: Mapping[str, str]) -> dict[str, str]:
    """The caller's environment without its ``GATEWAY_*`` settings, plus ``extra``: runs are reproducible."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("GATEWAY_")}
    env.update(extra)
    return env


def cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system, every thread) the process has used so far; ``None`` without Linux ``/proc``.

    On a busy machine requests/s follow the CPU share the server gets; CPU per request does not.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Fields after the parenthesised command name (which may hold spaces); utime and stime are fields 14 and 15.
    fields = stat.rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
