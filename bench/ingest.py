"""Ingest benchmark: the gateway's durable ingest against a bare Litestar endpoint, under wrk.

Both apps run the same way (one uvicorn worker, see ``server.py``) and get the same load: the README's kakao body with a
unique ``userId``/``dispatchId`` per request, so every request is a new message. For the gateway, the messages
stored afterwards must match the 202 answers wrk saw: each ``202`` was durably stored.

Usage: ``.venv/bin/python bench/ingest.py [--duration 15] [--connections 64] [--dispatcher off|on]
[--database-url postgresql://postgres@127.0.0.1:5432/test] [--channel kakao|lms] [--profile out.svg]``

See docs/ARCHITECTURE.md, "Quality bars".
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import msgspec
from loadgen import WrkResult, WrkRun, run_wrk, write_script
from payload import body_parts
from server import AppSpec, Server, cpu_seconds, serve, server_env
from stores import Target, open_target

__all__ = ("Outcome", "main")

_BENCH_DIR = Path(__file__).resolve().parent
_REPO = _BENCH_DIR.parent
_TOKEN = "bench-token"  # noqa: S105 - a throwaway token of the benchmark's own server
_ROUTE = "/v1/braze/messages"
_RATIO_BAR = 0.75
_P99_BAR_MS = 25.0
_BAR_CONNECTIONS = 64


class Outcome(msgspec.Struct, frozen=True):
    """One app's warm-up and measured run, and the server's CPU time per request of the measured run."""

    name: str
    warmup: WrkResult
    result: WrkResult
    cpu_ms_per_request: float | None


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Gateway ingest vs a bare Litestar endpoint, under wrk.")
    parser.add_argument("--duration", type=float, default=15.0, help="measured seconds per app (default 15)")
    parser.add_argument("--warmup", type=float, default=3.0, help="warm-up seconds per app (default 3)")
    parser.add_argument("--connections", type=int, default=64, help="open connections (default 64)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--dispatcher", choices=("on", "off"), default="off", help="gateway dispatcher (sandboxed)")
    parser.add_argument(
        "--database-url",
        help="benchmark PostgreSQL: the server of this URL, in a dedicated 'bench' database (default SQLite)",
    )
    parser.add_argument(
        "--channel",
        choices=("kakao", "lms"),
        default="kakao",
        help="kakao: the README's kakao body as is; lms: the same text as a non-advertising LMS (no quiet hours)",
    )
    parser.add_argument("--profile", type=Path, help="py-spy the gateway's measured run into this file (.svg/.txt)")
    args = parser.parse_args(argv)
    if args.database_url and not args.database_url.startswith(("postgresql://", "postgres://")):
        parser.error("--database-url must be postgresql://...; SQLite is the default and needs no URL")
    return args


def _load(server: Server, script: Path, args: argparse.Namespace, phase: str) -> WrkResult:
    seconds = args.warmup if phase == "warmup" else args.duration
    run = WrkRun(server.base_url + _ROUTE, script, phase, args.connections, args.threads, seconds)
    return run_wrk(run)


def _measure(name: str, server: Server, script: Path, args: argparse.Namespace) -> Outcome:
    """Warm up, then measure; with ``--profile`` py-spy samples the gateway during the measured run."""
    print(f"  {name}: warm-up {args.warmup:g} s, then {args.duration:g} s", flush=True)
    warmup = _load(server, script, args, "warmup")
    profiler = _start_profiler(server.pid, args) if args.profile and name == "gateway" else None
    cpu_before = cpu_seconds(server.pid)
    result = _load(server, script, args, "run")
    cpu_after = cpu_seconds(server.pid)
    if profiler is not None:
        profiler.wait()
    cpu = None if cpu_before is None or cpu_after is None else 1000 * (cpu_after - cpu_before) / result.requests
    return Outcome(name, warmup, result, cpu)


def _start_profiler(pid: int, args: argparse.Namespace) -> subprocess.Popen[bytes]:
    py_spy = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if py_spy is None:
        raise SystemExit("--profile needs py-spy: .venv/bin/pip install py-spy (not a project dependency)")
    output_format = "flamegraph" if args.profile.suffix == ".svg" else "raw"
    command = [py_spy, "record", "--pid", str(pid), "--duration", f"{int(args.duration)}", "--rate", "200"]
    # --gil: one uvicorn worker is bound by the GIL, so what holds it is what costs throughput.
    command += ["--gil", "--nonblocking", "--format", output_format, "--output", str(args.profile)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL)


def _bare(tmp: Path, script: Path, args: argparse.Namespace) -> Outcome:
    spec = AppSpec("bare_app:create_bare_app", _BENCH_DIR, server_env({}))
    with serve(spec, tmp / "bare.log") as server:
        return _measure("bare", server, script, args)


def _gateway(tmp: Path, script: Path, args: argparse.Namespace, target: Target) -> Outcome:
    env = server_env(
        {
            "GATEWAY_DATABASE_URL": target.url,
            "GATEWAY_INGEST_TOKENS": _TOKEN,
            "GATEWAY_DISPATCHER": args.dispatcher,
            "GATEWAY_SANDBOX": "on",
        }
    )
    spec = AppSpec("gateway.app:create_app", _REPO, env)
    with serve(spec, tmp / "gateway.log") as server:
        return _measure("gateway", server, script, args)


_HEADER = ("app", "requests/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "CPU ms/req", "202", "other")
_LINE = "{:<8} {:>11} {:>8} {:>8} {:>8} {:>8} {:>10} {:>9} {:>9}"


def _row(outcome: Outcome) -> str:
    r = outcome.result
    cells: tuple[str, ...] = (
        f"{r.rps:,.0f}",
        f"{r.p50_ms:.2f}",
        f"{r.p90_ms:.2f}",
        f"{r.p99_ms:.2f}",
        f"{r.max_ms:.1f}",
    )
    cells += ("n/a" if outcome.cpu_ms_per_request is None else f"{outcome.cpu_ms_per_request:.3f}",)
    return _LINE.format(outcome.name, *cells, f"{r.accepted:,}", f"{sum(r.failures.values()):,}")


def _verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def _report(bare: Outcome, gateway: Outcome, by_status: dict[str, int], args: argparse.Namespace, label: str) -> bool:
    """Print the table and the checks; return whether the run is valid (no failures, every 202 stored)."""
    print(
        f"\ningest: {args.connections} connections, {args.threads} wrk threads, {args.duration:g} s"
        f" (+{args.warmup:g} s warm-up) per app; store {label}; dispatcher {args.dispatcher}; channel {args.channel}"
    )
    print(_LINE.format(*_HEADER))
    print(_row(bare))
    print(_row(gateway))
    ratio = gateway.result.rps / bare.result.rps
    note = "" if args.connections == _BAR_CONNECTIONS else f" (the bars are set at {_BAR_CONNECTIONS} connections)"
    print(f"\nratio gateway/bare  {ratio:.2f}   bar ≥ {_RATIO_BAR}: {_verdict(ratio >= _RATIO_BAR)}{note}")
    if bare.cpu_ms_per_request and gateway.cpu_ms_per_request:
        cost = bare.cpu_ms_per_request / gateway.cpu_ms_per_request
        print(f"CPU bare/gateway    {cost:.2f}   (per request: the ratio to expect if both got the same CPU)")
    p99 = gateway.result.p99_ms
    print(f"gateway p99         {p99:.1f} ms   bar < {_P99_BAR_MS:g} ms: {_verdict(p99 < _P99_BAR_MS)}{note}")
    valid = True
    for outcome in (bare, gateway):
        for phase, result in (("warm-up", outcome.warmup), ("run", outcome.result)):
            if result.failures:
                valid = False
                print(f"FAILED REQUESTS ({outcome.name} {phase}): {result.failures}")
    acked = gateway.warmup.accepted + gateway.result.accepted
    # wrk drops the requests in flight when a run ends: the server may have stored them without wrk seeing
    # the answer, so up to one per connection per wrk run (warm-up and measured) can exceed the 202 count.
    stored = sum(by_status.values())
    cut_off = stored - acked
    if 0 <= cut_off <= 2 * args.connections:
        extra = f"; {cut_off} more were cut off in flight when wrk stopped" if cut_off else ""
        print(f"stored              {stored:,} messages for {acked:,} 202 answers (warm-up + run): all stored{extra}")
    else:
        valid = False
        print(f"STORED MISMATCH: {stored:,} messages stored for {acked:,} 202 answers (warm-up + run)")
    print(f"stored by status    {', '.join(f'{status} {n:,}' for status, n in sorted(by_status.items()))}")
    return valid


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit status 1 when a request failed or a 202 answer was not stored."""
    args = _parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk is not installed: install it with `apt-get install wrk` (Debian/Ubuntu) and run again.")
        return 2
    nonce = secrets.token_hex(4)
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp_name:
        tmp = Path(tmp_name)
        script = write_script(tmp, body_parts(args.channel), nonce, _TOKEN)
        with open_target(args.database_url, tmp) as target:
            # Other work on the machine skews both apps; the load average tells a reader how quiet it was.
            load = os.getloadavg()[0]
            print(
                f"ingest benchmark, store {target.label}; load average {load:.2f} on {os.cpu_count()} CPUs", flush=True
            )
            bare = _bare(tmp, script, args)
            gateway = _gateway(tmp, script, args, target)
            by_status = target.count_stored(f"bench-{nonce}-")
            valid = _report(bare, gateway, by_status, args, target.label)
    if args.profile:
        print(f"profile of the gateway's measured run: {args.profile}")
    return 0 if valid else 1


if __name__ == "__main__":
    sys.exit(main())
