"""Backlog memory benchmark: memory flat while a backlog of 1,000,000 queued messages waits.

Three gateways are served one after the other (``sandbox_app.py``: the real app with its dispatcher, instant
emulators whose request logs are trimmed), each on its own SQLite file under ``/tmp`` that is deleted afterwards,
while the script reads the server's resident memory (``VmRSS``) once a second:

- **idle**: an empty store;
- **control**: ``--control`` queued messages, more than the dispatcher sends in the window;
- **backlog**: ``--messages`` (1,000,000) queued messages.

The control and the backlog do the same work in the window (the dispatcher sends at its own pace), so memory that
grows with the size of the queue shows as the backlog's RSS above the control's. The script also times, on the
backlog's file, the two queries the gateway runs against the whole queue: the dispatcher's claim (an index range
scan with a ``LIMIT``) and the queue monitor's count by status (every 5 s).

Usage: ``.venv/bin/python bench/backlog.py [--messages 1000000] [--control 100000] [--duration 60] [--idle 20]``

See docs/ARCHITECTURE.md, "Quality bars".
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import msgspec
from preload import preload
from server import AppSpec, serve, server_env

from gateway.store.sqlite_writes import CLAIM_DUE_SQL

__all__ = ("Run", "main", "rss_mib")

_BENCH_DIR = Path(__file__).resolve().parent
_SETTLE_S = 10.0
_MIN_SAMPLED_S = 15.0
#: The bar's margin: 1,000,000 messages read into memory would take far more (each is over 1 KB as a Struct).
_MARGIN_MIB = 32.0
_SLOPE_LIMIT_MIB_PER_MIN = 2.0


class Run(msgspec.Struct, frozen=True):
    """One served gateway: its RSS samples (seconds since ready, MiB) and its messages by status at the end."""

    name: str
    queued: int
    samples: list[tuple[float, float]]
    by_status: dict[str, int]

    @property
    def peak(self) -> float:
        return max(rss for _, rss in self.samples)

    @property
    def settled(self) -> float:
        """RSS once the first ``_SETTLE_S`` seconds (imports done, first batches sent) have passed."""
        return next(rss for at, rss in self.samples if at >= _SETTLE_S)

    @property
    def slope(self) -> float:
        """MiB per minute after the first ``_SETTLE_S`` seconds (least squares)."""
        points = [(at, rss) for at, rss in self.samples if at >= _SETTLE_S]
        mean_t = sum(at for at, _ in points) / len(points)
        mean_r = sum(rss for _, rss in points) / len(points)
        spread = sum((at - mean_t) ** 2 for at, _ in points)
        return 60 * sum((at - mean_t) * (rss - mean_r) for at, rss in points) / spread if spread else 0.0

    @property
    def sent(self) -> int:
        return self.queued - sum(self.by_status.get(status, 0) for status in ("queued", "sending", "retrying"))


def rss_mib(pid: int) -> float:
    """The resident memory of ``pid`` in MiB, from ``/proc/<pid>/status`` (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Gateway memory while a large backlog of queued messages waits.")
    parser.add_argument("--messages", type=int, default=1_000_000, help="the backlog (default 1000000)")
    parser.add_argument("--control", type=int, default=100_000, help="the control run's queue (default 100000)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds sampled per loaded run (default 60)")
    parser.add_argument("--idle", type=float, default=20.0, help="seconds sampled for the idle run (default 20)")
    parser.add_argument(
        "--emulator-log",
        choices=("trim", "keep"),
        default="trim",
        help="trim (default) the emulators' request logs every second, or keep them (the sandbox as shipped)",
    )
    args = parser.parse_args(argv)
    if min(args.duration, args.idle) < _MIN_SAMPLED_S:
        parser.error(
            f"--duration and --idle must be at least {_MIN_SAMPLED_S:g} s (the slope starts at {_SETTLE_S:g} s)"
        )
    return args


def _sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def _serve_and_sample(name: str, db: Path, queued: int, seconds: float, args: argparse.Namespace) -> Run:
    env = server_env(
        {
            "GATEWAY_DATABASE_URL": _sqlite_url(db),
            "GATEWAY_INGEST_TOKENS": "bench-token",
            "GATEWAY_SANDBOX": "on",
            "GATEWAY_DISPATCHER": "on",
            "GATEWAY_LOG_LEVEL": "WARNING",
            "BENCH_EMULATOR_LOG": args.emulator_log,
        }
    )
    print(f"  {name}: serving the gateway, sampling RSS for {seconds:g} s", flush=True)
    samples: list[tuple[float, float]] = []
    with serve(AppSpec("sandbox_app:create_sandbox_app", _BENCH_DIR, env), db.parent / f"{name}.log") as server:
        ready = time.monotonic()
        while (now := time.monotonic()) - ready < seconds:
            samples.append((now - ready, rss_mib(server.pid)))
            time.sleep(max(0.0, ready + len(samples) - time.monotonic()))
    by_status = _count(db) if queued else {}
    return Run(name, queued, samples, by_status)


def _count(db: Path) -> dict[str, int]:
    with sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True) as conn:
        return dict(conn.execute("SELECT status, count(*) FROM messages GROUP BY status").fetchall())


def _loaded(name: str, count: int, tmp: Path, args: argparse.Namespace, probe: Callable[[Path], None] | None) -> Run:
    """Queue ``count`` messages in a fresh file, serve and sample it, run ``probe`` on it, then delete it."""
    directory = tmp / name
    directory.mkdir()
    db = directory / "gateway.db"
    print(f"  {name}: queueing {count:,} messages", flush=True)
    seconds = asyncio.run(preload(_sqlite_url(db), "lms", count, secrets.token_hex(4), concurrency=5000))
    print(f"  {name}: queued in {seconds:.0f} s ({count / seconds:,.0f}/s), {_file_mib(db):,.0f} MiB", flush=True)
    try:
        run = _serve_and_sample(name, db, count, args.duration, args)
        if probe is not None:
            probe(db)
        return run
    finally:
        shutil.rmtree(directory)


def _file_mib(db: Path) -> float:
    return sum(path.stat().st_size for path in db.parent.glob(f"{db.name}*")) / 2**20


def _time_queries(db: Path) -> None:
    """Time the claim's due scan and the monitor's count on the backlog's file (a read-only connection of its own)."""
    with sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True) as conn:
        for label, query, params in (
            ("claim: due scan, LIMIT 256", CLAIM_DUE_SQL, (time.time(), "[]", 256)),
            ("monitor: count by status", "SELECT status, count(*) FROM messages GROUP BY status", ()),
        ):
            started = time.perf_counter()
            rows = conn.execute(query, params).fetchall()
            elapsed = 1000 * (time.perf_counter() - started)
            plan = "; ".join(row[-1] for row in conn.execute(f"EXPLAIN QUERY PLAN {query}", params))
            print(f"  {label}: {elapsed:,.1f} ms, {len(rows)} rows ({plan})")


_HEADER = ("run", "queued", "sent", "RSS start", "at 10 s", "peak", "end", "slope MiB/min")
_LINE = "{:<8} {:>10} {:>8} {:>10} {:>8} {:>8} {:>8} {:>14}"


def _row(run: Run) -> str:
    return _LINE.format(
        run.name,
        f"{run.queued:,}",
        f"{run.sent:,}",
        f"{run.samples[0][1]:.1f}",
        f"{run.settled:.1f}",
        f"{run.peak:.1f}",
        f"{run.samples[-1][1]:.1f}",
        f"{run.slope:+.2f}",
    )


def _report(runs: list[Run]) -> None:
    idle, control, backlog = runs
    print("\nRSS of the gateway process in MiB, sampled every second; sent = messages the vendor took in the window")
    print(_LINE.format(*_HEADER))
    for run in runs:
        print(_row(run))
    above = backlog.peak - control.peak
    flat = above <= _MARGIN_MIB and backlog.slope <= _SLOPE_LIMIT_MIB_PER_MIN
    print(
        f"\nbacklog peak − control peak: {above:+.1f} MiB (≤ {_MARGIN_MIB:g}); "
        f"backlog slope {backlog.slope:+.2f} MiB/min (≤ {_SLOPE_LIMIT_MIB_PER_MIN:g}); idle peak {idle.peak:.1f} MiB"
    )
    print(f"bar: memory flat with {backlog.queued:,} queued: {'met' if flat else 'NOT met'}")


def main(argv: list[str] | None = None) -> int:
    """Run idle, control and backlog; exit status 1 when a loaded run sent nothing (the comparison is void)."""
    args = _parse_args(argv)
    print(f"backlog benchmark, SQLite under /tmp; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    # Under /tmp, whatever TMPDIR says: the 1M-message file is a few GB and is removed with the directory.
    with tempfile.TemporaryDirectory(prefix="bench-backlog-", dir="/tmp") as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "idle").mkdir()
        idle = _serve_and_sample("idle", tmp / "idle" / "gateway.db", 0, args.idle, args)
        control = _loaded("control", args.control, tmp, args, None)
        backlog = _loaded("backlog", args.messages, tmp, args, _time_queries)
    _report([idle, control, backlog])
    return 0 if control.sent and backlog.sent else 1


if __name__ == "__main__":
    sys.exit(main())
