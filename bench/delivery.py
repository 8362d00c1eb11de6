"""End-to-end delivery benchmark: a queued backlog delivered to vendor emulators with real latency.

The bar: against an emulator with 50 ms latency and a vendor limit of 1,000 messages/s, at least 95 % of that
limit delivered, sustained. The script queues ``--messages`` non-advertising LMS (or emails) straight into the store,
then serves the gateway (``sandbox_app.py``: the real app, its dispatcher and sandbox receipts, emulators answering
after ``--latency``) with the vendor's ``GATEWAY_<VENDOR>_RATE`` and ``_CONCURRENCY`` set, and counts once a second
the messages the vendor has taken (``accepted``, then ``delivered`` when the emulator's callback is applied).
The rate is taken over the window after ``--warmup``; the backlog must last the whole window.

Usage: ``.venv/bin/python bench/delivery.py [--messages 30000] [--duration 20] [--concurrency 100]
[--channel lms|email] [--batch 1024] [--database-url postgresql://postgres@127.0.0.1:5432/test]
[--profile out.svg]``

See docs/ARCHITECTURE.md, "Quality bars".
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import msgspec
from preload import preload, user_prefix
from profiling import start_py_spy
from server import AppSpec, cpu_seconds, serve, server_env
from stores import Target, open_target

__all__ = ("Sample", "main")

_BENCH_DIR = Path(__file__).resolve().parent
_SHARE_BAR = 0.95
_VENDOR = {"lms": "nhn", "email": "sendgrid"}
#: Statuses a message reaches once the vendor has taken it.
_SENT = ("accepted", "delivered", "failed", "unknown")
_START_TIMEOUT_S = 30.0


class Sample(msgspec.Struct, frozen=True):
    """The run's messages by status at one moment, and the gateway's CPU seconds so far."""

    at: float
    by_status: dict[str, int]
    cpu: float | None

    @property
    def sent(self) -> int:
        return sum(self.by_status.get(status, 0) for status in _SENT)

    @property
    def waiting(self) -> int:
        return sum(self.by_status.get(status, 0) for status in ("queued", "sending", "retrying"))


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Sustained delivery rate against emulators with latency.")
    parser.add_argument("--messages", type=int, default=30_000, help="messages queued before the start (30000)")
    parser.add_argument("--duration", type=float, default=20.0, help="measured seconds (default 20)")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds after the start not measured (default 5)")
    parser.add_argument("--latency", type=float, default=0.05, help="emulator answer delay in seconds (0.05)")
    parser.add_argument("--rate", type=float, default=1000.0, help="vendor limit, messages/s (default 1000)")
    parser.add_argument("--concurrency", type=int, default=100, help="vendor concurrency limit (default 100)")
    parser.add_argument("--channel", choices=tuple(_VENDOR), default="lms", help="lms (non-advertising) or email")
    parser.add_argument("--batch", type=int, help="GATEWAY_DISPATCH_BATCH (default: the gateway's own default)")
    parser.add_argument(
        "--database-url",
        help="benchmark PostgreSQL: the server of this URL, in a dedicated 'bench' database (default SQLite)",
    )
    parser.add_argument("--profile", type=Path, help="py-spy the gateway's measured window into this file (.svg/.txt)")
    args = parser.parse_args(argv)
    if args.database_url and not args.database_url.startswith(("postgresql://", "postgres://")):
        parser.error("--database-url must be postgresql://...; SQLite is the default and needs no URL")
    return args


def _sample(target: Target, prefix: str, pid: int) -> Sample:
    by_status = target.count_stored(prefix)
    return Sample(time.monotonic(), by_status, cpu_seconds(pid))


def _watch(target: Target, prefix: str, pid: int, args: argparse.Namespace) -> list[Sample]:
    """Sample once a second from the first sent message until the window ends or the backlog runs out."""
    deadline = time.monotonic() + _START_TIMEOUT_S
    first = _sample(target, prefix, pid)
    while first.sent == 0:
        if time.monotonic() > deadline:
            raise RuntimeError(f"nothing was sent within {_START_TIMEOUT_S:g} s of the start: see the gateway log")
        time.sleep(0.2)
        first = _sample(target, prefix, pid)
    samples = [first]
    end = first.at + args.warmup + args.duration
    profiler: subprocess.Popen[bytes] | None = None
    while samples[-1].at < end and samples[-1].waiting:
        time.sleep(max(0.0, samples[-1].at + 1.0 - time.monotonic()))
        samples.append(_sample(target, prefix, pid))
        if args.profile and profiler is None and samples[-1].at >= first.at + args.warmup:
            profiler = start_py_spy(pid, end - samples[-1].at, args.profile)
    if profiler is not None:
        profiler.wait()
    return samples


def _rate(first: Sample, last: Sample) -> float:
    return (last.sent - first.sent) / (last.at - first.at)


def _report(samples: list[Sample], args: argparse.Namespace, label: str) -> bool:
    """Print the figures and the verdict; return whether the run is valid (the backlog lasted the window)."""
    window = [s for s in samples if s.at >= samples[0].at + args.warmup]
    valid = len(window) >= 2 and window[-1].waiting > 0
    if len(window) < 2:
        print("INVALID: the backlog ran out before the measured window; queue more --messages")
        return False
    first, last = window[0], window[-1]
    rate = _rate(first, last)
    per_second = [_rate(a, b) for a, b in itertools.pairwise(window)]
    cpu = None if first.cpu is None or last.cpu is None else last.cpu - first.cpu
    print(
        f"\ndelivery: {label}, channel {args.channel} via {_VENDOR[args.channel]}, emulator latency "
        f"{args.latency * 1000:g} ms, vendor limit {args.rate:g}/s, concurrency {args.concurrency}, "
        f"dispatch batch {args.batch or 'default'}"
    )
    print(f"window            {last.at - first.at:.1f} s after {args.warmup:g} s warm-up")
    print(f"sent to vendor    {last.sent - first.sent:,} messages: {rate:,.0f}/s ({rate / args.rate:.1%} of the limit)")
    print(
        f"per second        min {min(per_second):,.0f}, median {statistics.median(per_second):,.0f}, "
        f"max {max(per_second):,.0f}"
    )
    if cpu is not None:
        busy = cpu / (last.at - first.at)
        print(f"gateway CPU       {busy:.0%} of one core; {1000 * cpu / max(1, last.sent - first.sent):.2f} ms/message")
    print(f"at the end        {', '.join(f'{status} {n:,}' for status, n in sorted(last.by_status.items()))}")
    if not valid:
        print("INVALID: the backlog ran out inside the window; queue more --messages")
    met = rate >= _SHARE_BAR * args.rate
    print(f"bar ≥ {_SHARE_BAR:.0%} of {args.rate:g}/s = {_SHARE_BAR * args.rate:g}/s: {'met' if met else 'NOT met'}")
    return valid


def _gateway_env(target: Target, args: argparse.Namespace) -> dict[str, str]:
    vendor = _VENDOR[args.channel].upper()
    batch = {} if args.batch is None else {"GATEWAY_DISPATCH_BATCH": str(args.batch)}
    return server_env(
        {
            **batch,
            "GATEWAY_DATABASE_URL": target.url,
            "GATEWAY_INGEST_TOKENS": "bench-token",
            "GATEWAY_SANDBOX": "on",
            "GATEWAY_DISPATCHER": "on",
            f"GATEWAY_{vendor}_RATE": f"{args.rate:g}",
            f"GATEWAY_{vendor}_CONCURRENCY": str(args.concurrency),
            "GATEWAY_LOG_LEVEL": "WARNING",
            "BENCH_EMULATOR_LATENCY": f"{args.latency:g}",
        }
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit status 1 when the backlog did not last the measured window."""
    args = _parse_args(argv)
    nonce = secrets.token_hex(4)
    with tempfile.TemporaryDirectory(prefix="bench-delivery-") as tmp_name:
        tmp = Path(tmp_name)
        with open_target(args.database_url, tmp) as target:
            print(
                f"delivery benchmark, store {target.label}; load average {os.getloadavg()[0]:.2f} "
                f"on {os.cpu_count()} CPUs",
                flush=True,
            )
            seconds = asyncio.run(preload(target.url, args.channel, args.messages, nonce))
            print(f"  queued {args.messages:,} messages in {seconds:.1f} s; starting the gateway", flush=True)
            spec = AppSpec("sandbox_app:create_sandbox_app", _BENCH_DIR, _gateway_env(target, args))
            with serve(spec, tmp / "gateway.log") as server:
                samples = _watch(target, user_prefix(nonce), server.pid, args)
            valid = _report(samples, args, target.label)
    if args.profile:
        print(f"profile of the gateway's measured window: {args.profile}")
    return 0 if valid else 1


if __name__ == "__main__":
    sys.exit(main())
