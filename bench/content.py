"""Connected Content benchmark (issue 13): cache hits against a bare endpoint, and the 2 s promise, under wrk.

1. **Hits**: ``GET /v1/content/best?category=hair`` at 64 connections, the copy cached, against a bare Litestar
   endpoint answering the same bytes without authentication or cache (``bare_app.py``), same server and load.
   Bars: ≥ 0.75 × the bare requests/s, p99 < 10 ms.
2. **Promise**: an upstream that takes 5 s. Misses with a new query each (each waits for its own call), misses
   of one query (all share one call at a time), and stale copies (TTL 1 s, the refresh takes 5 s) — every answer
   must leave within 2 s.
3. **Processes**: two gateway processes asked the same queries: the upstream calls show whether they share copies.
   With ``--postgres URL``, the cost of one keyed read of a copy from PostgreSQL, for comparison with a hit.

The upstream (``upstream_app.py``), the bare endpoint and each gateway run in their own uvicorn process.

Usage: ``.venv/bin/python bench/content.py [--duration 15] [--connections 64] [--promise-duration 10]
[--postgres postgresql://postgres@127.0.0.1:5432/test]``
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

import httpx
import msgspec
import psycopg
from loadgen import WrkResult, WrkRun, run_wrk, write_get_script
from server import AppSpec, Server, cpu_seconds, serve, server_env
from upstream_app import BEST_BODY, SLOW_S

__all__ = ("Outcome", "main")

_BENCH_DIR = Path(__file__).resolve().parent
_REPO = _BENCH_DIR.parent
_TOKEN = "bench-token"  # noqa: S105 - a throwaway token of the benchmark's own server
_HIT_PATH = "/v1/content/best?category=hair"
_RATIO_BAR = 0.75
_P99_BAR_MS = 10.0
_PROMISE_MS = 2000.0
_PROCESS_KEYS = 100
_PG_READS = 2000


class Outcome(msgspec.Struct, frozen=True):
    """One app's measured hit run and its server's CPU time per request."""

    name: str
    result: WrkResult
    cpu_ms_per_request: float | None


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Connected Content cache hits vs a bare endpoint; the 2 s promise.")
    parser.add_argument("--duration", type=float, default=15.0, help="measured seconds of hits per app (default 15)")
    parser.add_argument("--warmup", type=float, default=3.0, help="warm-up seconds per app (default 3)")
    parser.add_argument("--connections", type=int, default=64, help="open connections (default 64)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--promise-duration", type=float, default=10.0, help="seconds per slow-upstream run")
    parser.add_argument("--postgres", help="also time keyed reads of a copy from this PostgreSQL (a temporary table)")
    return parser.parse_args(argv)


def _gateway_spec(tmp: Path, upstream: Server, name: str, **extra: str) -> AppSpec:
    sources = ",".join(f"{path}={upstream.base_url}/{path}" for path in ("best", "slow", "once"))
    env = server_env(
        {
            "GATEWAY_DATABASE_URL": f"sqlite:///{tmp}/{name}.db",
            "GATEWAY_INGEST_TOKENS": _TOKEN,
            "GATEWAY_DISPATCHER": "off",
            "GATEWAY_SANDBOX": "on",
            "GATEWAY_CONTENT_SOURCES": sources,
            **extra,
        }
    )
    return AppSpec("gateway.app:create_app", _REPO, env)


def _wrk(server: Server, script: Path, phase: str, seconds: float, args: argparse.Namespace) -> WrkResult:
    # The URL's path is replaced by each request's own (see write_get_script).
    return run_wrk(WrkRun(server.base_url + "/", script, phase, args.connections, args.threads, seconds))


def _hits(name: str, server: Server, script: Path, args: argparse.Namespace) -> Outcome:
    print(f"  {name}: warm-up {args.warmup:g} s, then {args.duration:g} s of hits", flush=True)
    _wrk(server, script, "warmup", args.warmup, args)
    before = cpu_seconds(server.pid)
    result = _wrk(server, script, "run", args.duration, args)
    after = cpu_seconds(server.pid)
    cpu = None if before is None or after is None else 1000 * (after - before) / result.requests
    return Outcome(name, result, cpu)


def _get(server: Server, path: str) -> httpx.Response:
    return httpx.get(server.base_url + path, headers={"Authorization": f"Bearer {_TOKEN}"}, timeout=10)


def _upstream_calls(upstream: Server) -> dict[str, int]:
    return dict(httpx.get(upstream.base_url + "/calls", timeout=10).json())


def _problems(result: WrkResult, expected: int) -> dict[str, int]:
    """Statuses other than ``expected`` and socket errors: a valid run has none."""
    bad = {f"HTTP {status}": n for status, n in sorted(result.statuses.items()) if status != expected}
    bad.update({kind: n for kind, n in result.errors.items() if n and kind != "status"})
    return bad


def _verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def _line(name: str, result: WrkResult, extra: str = "") -> str:
    statuses = ", ".join(f"{status}: {n:,}" for status, n in sorted(result.statuses.items()))
    return (
        f"{name:<22} {result.rps:>9,.0f}/s  p50 {result.p50_ms:7.2f}  p99 {result.p99_ms:7.2f}  "
        f"max {result.max_ms:8.1f} ms  [{statuses}]{extra}"
    )


def _hit_section(tmp: Path, upstream: Server, args: argparse.Namespace, nonce: str) -> bool:
    script = write_get_script(tmp, "hits", _HIT_PATH, _TOKEN, unique=False, nonce=nonce)
    with serve(AppSpec("bare_app:create_bare_app", _BENCH_DIR, server_env({})), tmp / "bare.log") as bare:
        bare_outcome = _hits("bare", bare, script, args)
    with serve(_gateway_spec(tmp, upstream, "hits"), tmp / "gateway.log") as gateway:
        primed = _get(gateway, _HIT_PATH)
        if primed.status_code != 200 or primed.content != BEST_BODY:
            raise RuntimeError(f"the gateway did not answer the upstream's body: {primed.status_code} {primed.text}")
        gateway_outcome = _hits("gateway", gateway, script, args)
        calls = _upstream_calls(upstream).get("best", 0)
        valid = _report_hits(bare_outcome, gateway_outcome, calls, args)
        return _promise_misses(tmp, gateway, upstream, args, nonce) & valid


def _report_hits(bare: Outcome, gateway: Outcome, calls: int, args: argparse.Namespace) -> bool:
    print(f"\nhits: {args.connections} connections, {args.threads} wrk threads, {args.duration:g} s per app")
    valid = calls == 1
    for outcome in (bare, gateway):
        cpu = "n/a" if outcome.cpu_ms_per_request is None else f"{outcome.cpu_ms_per_request:.3f}"
        print(_line(outcome.name, outcome.result, f"  CPU {cpu} ms/req"))
        if _problems(outcome.result, 200):
            valid = False
            print(f"FAILED REQUESTS ({outcome.name}): {_problems(outcome.result, 200)}")
    ratio = gateway.result.rps / bare.result.rps
    p99 = gateway.result.p99_ms
    print(f"ratio gateway/bare     {ratio:.2f}   bar ≥ {_RATIO_BAR}: {_verdict(ratio >= _RATIO_BAR)}")
    if bare.cpu_ms_per_request and gateway.cpu_ms_per_request:
        cost = bare.cpu_ms_per_request / gateway.cpu_ms_per_request
        print(f"CPU bare/gateway       {cost:.2f}   (per request: the ratio to expect if both got the same CPU)")
    print(f"gateway p99            {p99:.2f} ms   bar < {_P99_BAR_MS:g} ms: {_verdict(p99 < _P99_BAR_MS)}")
    print(f"upstream calls         {calls} for the whole gateway run (1: the priming miss, every other answer a hit)")
    return valid


def _promise_misses(tmp: Path, gateway: Server, upstream: Server, args: argparse.Namespace, nonce: str) -> bool:
    """Misses against the 5 s upstream: a new query per request, then one query for every request."""
    seconds = args.promise_duration
    print(f"  gateway: {seconds:g} s of misses on a {SLOW_S:g} s upstream, new query each; then one query", flush=True)
    each = write_get_script(tmp, "slow-each", "/v1/content/slow?category=hair&n=", _TOKEN, unique=True, nonce=nonce)
    one = write_get_script(tmp, "slow-one", "/v1/content/slow?category=hair", _TOKEN, unique=False, nonce=nonce)
    before = _upstream_calls(upstream).get("slow", 0)
    each_result = _wrk(gateway, each, "each", seconds, args)
    middle = _upstream_calls(upstream).get("slow", 0)
    one_result = _wrk(gateway, one, "one", seconds, args)
    after = _upstream_calls(upstream).get("slow", 0)
    print(f"\npromise: upstream answers after {SLOW_S:g} s, GATEWAY_CONTENT_TIMEOUT 1.5 s (default)")
    print(_line("misses, new query each", each_result, f"  upstream calls {middle - before:,}"))
    print(_line("misses, one query", one_result, f"  upstream calls {after - middle:,}"))
    return _promise_kept(each_result, 502) & _promise_kept(one_result, 502)


def _promise_kept(result: WrkResult, expected: int) -> bool:
    kept = result.max_ms < _PROMISE_MS and not _problems(result, expected)
    print(f"  every answer {expected} within {_PROMISE_MS / 1000:g} s: {_verdict(kept)}", end="")
    print(f" ({_problems(result, expected)})" if _problems(result, expected) else "")
    return kept


def _stale_section(tmp: Path, upstream: Server, args: argparse.Namespace, nonce: str) -> bool:
    """Stale copies while the refresh takes 5 s: every answer at once, from the copy."""
    with serve(_gateway_spec(tmp, upstream, "stale", GATEWAY_CONTENT_TTL="1"), tmp / "stale.log") as gateway:
        path = "/v1/content/once?category=hair"
        assert _get(gateway, path).status_code == 200
        time.sleep(1.2)
        script = write_get_script(tmp, "stale", path, _TOKEN, unique=False, nonce=nonce)
        before = _upstream_calls(upstream).get("once", 0)
        print(f"  gateway: {args.promise_duration:g} s of stale copies (TTL 1 s) on a {SLOW_S:g} s refresh", flush=True)
        result = _wrk(gateway, script, "stale", args.promise_duration, args)
        calls = _upstream_calls(upstream).get("once", 0) - before
        cache = _get(gateway, path).headers.get("x-cache")
    print(_line("stale copies", result, f"  upstream calls {calls:,}; X-Cache afterwards {cache}"))
    return _promise_kept(result, 200)


def _process_section(tmp: Path, upstream: Server) -> None:
    """Two gateway processes asked the same queries: each calls the upstream for its own copy."""
    with (
        serve(_gateway_spec(tmp, upstream, "one"), tmp / "one.log") as first,
        serve(_gateway_spec(tmp, upstream, "two"), tmp / "two.log") as second,
    ):
        before = _upstream_calls(upstream).get("best", 0)
        for server in (first, second):
            for n in range(_PROCESS_KEYS):
                assert _get(server, f"/v1/content/best?category=c{n}").status_code == 200
        calls = _upstream_calls(upstream).get("best", 0) - before
        repeat = {_get(server, "/v1/content/best?category=c0").headers["x-cache"] for server in (first, second)}
    print(
        f"\nprocesses: 2 gateways, the same {_PROCESS_KEYS} queries asked of each: {calls} upstream calls "
        f"({calls / _PROCESS_KEYS:.1f} per query: each process holds its own copy); asked again: {sorted(repeat)}"
    )


def _postgres_section(url: str) -> None:
    """How long a keyed read of one copy takes from PostgreSQL, the store several processes share."""
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("CREATE TEMPORARY TABLE content_copies (key text PRIMARY KEY, body bytea NOT NULL)")
        connection.execute(
            "INSERT INTO content_copies SELECT 'best?category=c' || n, %s FROM generate_series(0, 999) AS n",
            (BEST_BODY,),
        )
        timings = []
        cpu_before = time.process_time()
        for n in range(_PG_READS):
            started = time.perf_counter()
            key = f"best?category=c{n % 1000}"
            connection.execute("SELECT body FROM content_copies WHERE key = %s", (key,)).fetchone()
            timings.append(time.perf_counter() - started)
        client_cpu = 1e3 * (time.process_time() - cpu_before) / _PG_READS
    timings.sort()
    p50, p99 = (1e3 * timings[int(len(timings) * q)] for q in (0.5, 0.99))
    print(
        f"PostgreSQL keyed read of a {len(BEST_BODY):,}-byte copy (psycopg, one connection, {_PG_READS:,} reads): "
        f"p50 {p50:.3f} ms, p99 {p99:.3f} ms; client CPU {client_cpu:.3f} ms/read (PostgreSQL's own not counted)"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit status 1 when a request failed, a hit called upstream or the promise broke."""
    args = _parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk is not installed: install it with `apt-get install wrk` (Debian/Ubuntu) and run again.")
        return 2
    nonce = secrets.token_hex(4)
    load = os.getloadavg()[0]
    print(f"content benchmark; load average {load:.2f} on {os.cpu_count()} CPUs", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-content-") as tmp_name:
        tmp = Path(tmp_name)
        upstream_spec = AppSpec("upstream_app:create_upstream_app", _BENCH_DIR, server_env({}))
        with serve(upstream_spec, tmp / "upstream.log") as upstream:
            valid = _hit_section(tmp, upstream, args, nonce)
            valid &= _stale_section(tmp, upstream, args, nonce)
            _process_section(tmp, upstream)
    if args.postgres:
        _postgres_section(args.postgres)
    return 0 if valid else 1


if __name__ == "__main__":
    sys.exit(main())
