"""The whole pipeline as a user lives with it (issue 14): Braze → gateway → vendors over HTTP → receipts → Braze.

wrk sends unique Braze bodies (a mix of channels and vendors) for ``--duration`` seconds into ``gateway serve``, a
real process (with ``--workers``), whose vendors are real-HTTP fakes in a separate process (``vendor_fakes.py``:
NHN kakao and SMS, Solapi and SendGrid emulators answering after ``--latency``, posting signed receipts back through
the callback routes, and a Braze ``/users/track`` fake). Then it waits until every message is final and reported to
Braze (the drain). The bare endpoint (``bare_app.py``) takes the same wrk load first, in the same run, for its CPU
per request.

Printed: messages/s accepted and finished, the gateway's CPU ms per finished message (every gateway process, from
``/proc``; not the fakes, wrk or PostgreSQL) against the bare endpoint's CPU per request, ingest p50/p99 while
delivering, the backlog and the gateway's memory when wrk stops, and the drain time.

Usage: ``.venv/bin/python bench/pipeline.py [--duration 20] [--workers 1] [--mix kakao=1,lms=1,solapi-lms=1,email=1]
[--database-url postgresql://postgres@127.0.0.1:5432/test] [--profile out.svg]``
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import msgspec
from bodies import BodyKind, braze_body
from loadgen import WrkResult, WrkRun, run_wrk, write_mix_script
from payload import ID_MARK
from profiling import start_py_spy
from server import AppSpec, cpu_seconds, serve, server_env
from stores import Target, open_target
from vendor_fakes import CREDENTIALS

__all__ = ("MIXES", "GatewayUse", "main", "parse_mix")

_BENCH_DIR = Path(__file__).resolve().parent
_REPO = _BENCH_DIR.parent
_TOKEN = "bench-token"  # noqa: S105 - a throwaway token of the benchmark's own server
_ROUTE = "/v1/braze/messages"
_CPU_BAR = 3.0
_P99_BAR_MS = 25.0
_FINAL = ("delivered", "failed", "suppressed", "dead", "fallback", "unknown")
_START_TIMEOUT_S = 60.0
_STOP_TIMEOUT_S = 30.0
#: Mix entries: the Braze body kind and the vendor the body asks for (``None``: the configured default).
MIXES: dict[str, tuple[BodyKind, str | None]] = {
    "kakao": ("kakao", None),
    "lms": ("lms", None),
    "email": ("email", None),
    "solapi-kakao": ("kakao", "solapi"),
    "solapi-lms": ("lms", "solapi"),
}


class GatewayUse(msgspec.Struct, frozen=True):
    """CPU seconds and resident memory of the gateway's processes (the server and its workers) at one moment."""

    cpu: float
    rss_mib: float
    processes: int


def parse_mix(text: str) -> list[int]:
    """``kakao=2,lms=1`` → the pattern of indexes into :data:`MIXES` wrk cycles through (``[0, 0, 1]``)."""
    names = list(MIXES)
    pattern: list[int] = []
    for entry in text.split(","):
        name, _, share = entry.strip().partition("=")
        if name not in MIXES or not (share or "1").isdigit():
            raise argparse.ArgumentTypeError(f"mix entry {entry!r}: name=share with a name of {', '.join(names)}")
        pattern += [names.index(name)] * int(share or "1")
    if not pattern:
        raise argparse.ArgumentTypeError("the mix is empty")
    return pattern


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="The whole pipeline: wrk → gateway → HTTP vendor fakes → receipts.")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of load into the gateway (20)")
    parser.add_argument("--bare-duration", type=float, default=10.0, help="seconds of load into the bare app (10)")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections (64, as the bars)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    parser.add_argument("--workers", type=int, default=1, help="gateway serve --workers (more than 1: PostgreSQL)")
    parser.add_argument("--mix", type=parse_mix, default=parse_mix("kakao=1,lms=1,solapi-lms=1,email=1"))
    parser.add_argument(
        "--transport", choices=("aiohttp", "httpx"), help="GATEWAY_HTTP_TRANSPORT (default: the gateway's own)"
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="requests/s wrk offers the gateway, paced per connection (default: as fast as it answers)",
    )
    parser.add_argument(
        "--separate-worker",
        action="store_true",
        help="deliver in a `gateway worker` process beside `gateway serve` (GATEWAY_DISPATCHER=off)",
    )
    parser.add_argument("--latency", type=float, default=0.05, help="seconds before every vendor answer (0.05)")
    parser.add_argument("--drain-timeout", type=float, default=180.0, help="most seconds to wait for the drain")
    parser.add_argument(
        "--database-url",
        help="benchmark PostgreSQL: the server of this URL, in a dedicated 'bench' database (default SQLite)",
    )
    parser.add_argument("--profile", type=Path, help="py-spy the gateway during the load into this file (.svg/.txt)")
    args = parser.parse_args(argv)
    if args.database_url and not args.database_url.startswith(("postgresql://", "postgres://")):
        parser.error("--database-url must be postgresql://...; SQLite is the default and needs no URL")
    if args.workers > 1 and not args.database_url:
        parser.error("--workers > 1 needs --database-url (gateway serve refuses SQLite with several workers)")
    if args.profile and args.workers > 1:
        parser.error("--profile samples one process: use it with --workers 1")
    return args


def _bodies() -> list[list[str]]:
    """Each mix entry's JSON body split at the id mark; kakao is not advertising, so no quiet hours hold it."""
    bodies = []
    for kind, vendor in MIXES.values():
        body = braze_body(kind, f"pl-{ID_MARK}")
        if kind == "kakao":
            body.update(ad="false")
        if vendor:
            body["vendor"] = vendor
        bodies.append(json.dumps(body, ensure_ascii=False).split(ID_MARK))
    return bodies


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ok(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + _START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited with {process.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=1) as answer:  # noqa: S310 - a fixed loopback http URL
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {_START_TIMEOUT_S:g} s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGINT (a graceful stop: the gateway's lifespan closes its store), SIGKILL only if it hangs."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def _fakes(tmp: Path, port: int, gateway_url: str, latency: float) -> Iterator[tuple[str, str]]:
    """Start ``vendor_fakes.py``; yield its base URL and the SendGrid public key it signs receipts with."""
    log = tmp / "fakes.log"
    command = [sys.executable, str(_BENCH_DIR / "vendor_fakes.py"), f"--port={port}", f"--gateway={gateway_url}"]
    command.append(f"--latency={latency:g}")
    env = server_env({"PYTHONPATH": f"{_REPO}{os.pathsep}{_BENCH_DIR}"})
    with log.open("wb") as errors:
        process = subprocess.Popen(command, cwd=_REPO, env=env, stdout=subprocess.PIPE, stderr=errors)
    try:
        assert process.stdout is not None
        first = json.loads(process.stdout.readline() or "{}")
        base = f"http://127.0.0.1:{port}"
        _wait_ok(base + "/healthz", process, log)
        yield base, str(first["sendgrid_public_key"])
    finally:
        _stop(process)


def fake_stats(base: str) -> dict[str, int]:
    """The fakes' counts (vendor requests, receipts posted and refused, Braze events)."""
    with urllib.request.urlopen(base + "/stats", timeout=5) as answer:  # noqa: S310 - a fixed loopback http URL
        return dict(json.loads(answer.read()))


def _gateway_env(target: Target, port: int, fakes: str, public_key: str, transport: str | None) -> dict[str, str]:
    kakao, sms, solapi, sendgrid = (CREDENTIALS[name] for name in ("nhn_kakao", "nhn_sms", "solapi", "sendgrid"))
    return server_env(
        {
            "GATEWAY_HOST": "127.0.0.1",
            "GATEWAY_PORT": str(port),
            "GATEWAY_DATABASE_URL": target.url,
            "GATEWAY_INGEST_TOKENS": _TOKEN,
            "GATEWAY_SESSION_SECRET": secrets.token_hex(32),
            "GATEWAY_SANDBOX": "off",
            "GATEWAY_NHN_KAKAO_URL": f"{fakes}/nhn_kakao",
            "GATEWAY_NHN_KAKAO_APPKEY": kakao["appkey"],
            "GATEWAY_NHN_KAKAO_SECRET": kakao["secret"],
            "GATEWAY_NHN_SENDER_KEY": kakao["sender_key"],
            "GATEWAY_NHN_SMS_URL": f"{fakes}/nhn_sms",
            "GATEWAY_NHN_SMS_APPKEY": sms["appkey"],
            "GATEWAY_NHN_SMS_SECRET": sms["secret"],
            "GATEWAY_SMS_SENDER_NO": sms["send_no"],
            "GATEWAY_SOLAPI_URL": f"{fakes}/solapi",
            "GATEWAY_SOLAPI_API_KEY": solapi["api_key"],
            "GATEWAY_SOLAPI_API_SECRET": solapi["api_secret"],
            "GATEWAY_SOLAPI_PF_ID": solapi["pf_id"],
            "GATEWAY_SENDGRID_URL": f"{fakes}/sendgrid",
            "GATEWAY_SENDGRID_API_KEY": sendgrid["api_key"],
            "GATEWAY_EMAIL_FROM": sendgrid["from_email"],
            "GATEWAY_SENDER_NAME": "벤치",
            "GATEWAY_OPT_OUT_080": "080-000-0000",
            "GATEWAY_NHN_WEBHOOK_SIGNATURE": CREDENTIALS["nhn_signature"]["value"],
            "GATEWAY_SOLAPI_CALLBACK_TOKEN": CREDENTIALS["solapi_token"]["value"],
            "GATEWAY_SENDGRID_WEBHOOK_PUBLIC_KEY": public_key,
            "GATEWAY_BRAZE_REST_URL": f"{fakes}/braze",
            "GATEWAY_BRAZE_API_KEY": CREDENTIALS["braze"]["api_key"],
            **({"GATEWAY_HTTP_TRANSPORT": transport} if transport else {}),
        }
    )


def _process_tree(root: int) -> list[int]:
    """``root`` and every process descending from it (uvicorn's workers, multiprocessing helpers)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo += children.get(pid, [])
    return tree


def gateway_use(*roots: int) -> GatewayUse:
    """CPU seconds (user + system, every thread) and resident memory summed over the gateway's processes."""
    cpu, rss, pids = 0.0, 0.0, [pid for root in roots for pid in _process_tree(root)]
    for pid in pids:
        cpu += cpu_seconds(pid) or 0.0
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        rss += next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0) / 1024
    return GatewayUse(cpu, rss, len(pids))


class _Drain(msgspec.Struct):
    seconds: float
    by_status: dict[str, int]
    braze_events: int
    complete: bool


def _drain(target: Target, prefix: str, fakes: str, timeout: float) -> _Drain:
    """Wait until every message of the run is final and reported to Braze, or ``timeout`` passes."""
    started = time.monotonic()
    while True:
        by_status = target.count_stored(prefix)
        final = sum(by_status.get(status, 0) for status in _FINAL)
        events = fake_stats(fakes)["braze_events"]
        complete = final == sum(by_status.values()) and events >= final
        if complete or time.monotonic() - started > timeout:
            return _Drain(time.monotonic() - started, by_status, events, complete)
        time.sleep(0.5)


def _bare_cpu(tmp: Path, script: Path, args: argparse.Namespace) -> tuple[float, WrkResult]:
    spec = AppSpec("bare_app:create_bare_app", _BENCH_DIR, server_env({}))
    with serve(spec, tmp / "bare.log") as server:
        run_wrk(WrkRun(server.base_url + _ROUTE, script, "bare-warmup", args.connections, args.threads, 3))
        before = cpu_seconds(server.pid) or 0.0
        result = run_wrk(
            WrkRun(server.base_url + _ROUTE, script, "bare", args.connections, args.threads, args.bare_duration)
        )
        after = cpu_seconds(server.pid) or 0.0
    return 1000 * (after - before) / max(1, result.requests), result


def _start_gateway(tmp: Path, env: dict[str, str], args: argparse.Namespace) -> list[subprocess.Popen[bytes]]:
    """``gateway serve``; with ``--separate-worker`` it only ingests and ``gateway worker`` delivers beside it."""
    gateway = shutil.which("gateway", path=str(Path(sys.executable).parent))
    command = [gateway] if gateway else [sys.executable, "-m", "gateway.cli"]
    serve = [*command, "serve", f"--workers={args.workers}"]
    if not args.separate_worker:
        return [_spawn(tmp / "gateway.log", serve, tmp, env)]
    return [
        _spawn(tmp / "gateway.log", serve, tmp, {**env, "GATEWAY_DISPATCHER": "off"}),
        _spawn(tmp / "worker.log", [*command, "worker"], tmp, env),
    ]


def _spawn(log_path: Path, command: list[str], cwd: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    with log_path.open("wb") as log:
        return subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)


class _Run(msgspec.Struct):
    """Everything one run measured."""

    label: str
    mix: str
    bare_cpu_ms: float
    bare: WrkResult
    result: WrkResult
    start: GatewayUse
    loaded: GatewayUse
    end: GatewayUse
    at_stop: dict[str, int]
    drain: _Drain
    stats: dict[str, int]


def _mix_label(pattern: list[int]) -> str:
    names = list(MIXES)
    return ", ".join(f"{names[i]} {pattern.count(i)}" for i in sorted(set(pattern)))


def _paced_script(tmp: Path, nonce: str, args: argparse.Namespace) -> Path:
    """The mix at about ``--rate`` requests a second: each connection waits its share of a second between requests."""
    delay_ms = args.connections * 1000 / args.rate
    return write_mix_script(tmp, _bodies(), args.mix, nonce, _TOKEN, delay_ms=delay_ms, name="paced")


def _measure(args: argparse.Namespace, tmp: Path, target: Target, nonce: str) -> _Run:
    """The bare endpoint's CPU per request, then the gateway under load with its fakes, then the drain."""
    script = write_mix_script(tmp, _bodies(), args.mix, nonce, _TOKEN)
    prefix = f"pl-{nonce}-"
    bare_cpu, bare = _bare_cpu(tmp, script, args)
    print(f"  bare endpoint: {bare.rps:,.0f} req/s, {bare_cpu:.3f} ms CPU per request", flush=True)
    gateway_port, fakes_port = _free_port(), _free_port()
    gateway_url = f"http://127.0.0.1:{gateway_port}"
    with _fakes(tmp, fakes_port, gateway_url, args.latency) as (fakes, public_key):
        env = _gateway_env(target, gateway_port, fakes, public_key, args.transport)
        processes = _start_gateway(tmp, env, args)
        process, roots = processes[0], [p.pid for p in processes]
        try:
            _wait_ok(gateway_url + "/healthz", process, tmp / "gateway.log")
            print(f"  gateway up; {args.duration:g} s of load", flush=True)
            profiler = start_py_spy(process.pid, args.duration, args.profile) if args.profile else None
            start = gateway_use(*roots)
            paced = _paced_script(tmp, nonce, args) if args.rate > 0 else script
            load = WrkRun(gateway_url + _ROUTE, paced, "run", args.connections, args.threads, args.duration)
            result = run_wrk(load)
            loaded = gateway_use(*roots)
            at_stop = target.count_stored(prefix)
            if profiler is not None:
                profiler.wait()
            print("  load done; draining", flush=True)
            drain = _drain(target, prefix, fakes, args.drain_timeout)
            end = gateway_use(*roots)
            stats = fake_stats(fakes)
        finally:
            for started in processes:
                _stop(started)
    return _Run(target.label, _mix_label(args.mix), bare_cpu, bare, result, start, loaded, end, at_stop, drain, stats)


def _verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def _report(run: _Run, args: argparse.Namespace) -> bool:
    """Print the figures; return whether the run is valid (no failed request, every 202 stored, drained)."""
    result, drain, stats = run.result, run.drain, run.stats
    finished = sum(drain.by_status.get(status, 0) for status in _FINAL)
    finished_in_load = sum(run.at_stop.get(status, 0) for status in _FINAL)
    cpu_ms = 1000 * (run.end.cpu - run.start.cpu) / max(1, finished)
    ratio = cpu_ms / run.bare_cpu_ms if run.bare_cpu_ms else float("inf")
    elapsed = result.duration_s + drain.seconds
    print(
        f"\npipeline: {args.duration:g} s of wrk, {args.connections} connections"
        f"{f', offering {args.rate:,.0f} requests/s' if args.rate > 0 else ''}"
        f"{'; delivery in a separate worker process' if args.separate_worker else ''}; vendors answer after "
        f"{args.latency * 1000:g} ms; store {run.label}; {args.workers} worker(s); mix {run.mix}; "
        f"transport {args.transport or 'default'}"
    )
    print(f"accepted          {result.accepted:,} ({result.accepted / result.duration_s:,.0f}/s)")
    print(f"finished in load  {finished_in_load:,} ({finished_in_load / result.duration_s:,.0f}/s)")
    print(f"finished overall  {finished:,} in {elapsed:.1f} s ({finished / elapsed:,.0f}/s)")
    print(
        f"ingest latency    p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms, max {result.max_ms:.0f} ms "
        f"(bar p99 < {_P99_BAR_MS:g} ms while delivering: {_verdict(result.p99_ms < _P99_BAR_MS)})"
    )
    print(
        f"at wrk's stop     backlog {sum(run.at_stop.values()) - finished_in_load:,} not final; gateway RSS "
        f"{run.loaded.rss_mib:,.0f} MiB in {run.loaded.processes} process(es)"
    )
    print(
        f"drain             {drain.seconds:.1f} s{'' if drain.complete else ' (TIMED OUT)'}; "
        f"gateway RSS at the end {run.end.rss_mib:,.0f} MiB"
    )
    busy = (run.loaded.cpu - run.start.cpu) / result.duration_s
    print(
        f"gateway CPU       {run.end.cpu - run.start.cpu:.1f} s ({busy:.0%} of a core during load): "
        f"{cpu_ms:.3f} ms per finished message"
    )
    print(f"bare endpoint     {run.bare_cpu_ms:.3f} ms CPU per request ({run.bare.rps:,.0f} req/s)")
    print(f"CPU ratio         {ratio:.1f} × the bare endpoint (bar ≤ {_CPU_BAR:g} ×: {_verdict(ratio <= _CPU_BAR)})")
    print(f"final states      {', '.join(f'{s} {n:,}' for s, n in sorted(drain.by_status.items()))}")
    print(
        f"fakes             {stats['vendor_requests']:,} vendor requests, {stats['callbacks']:,} receipt calls "
        f"({stats['callback_failures']:,} refused or failed), {stats['braze_calls']:,} Braze calls with "
        f"{stats['braze_events']:,} events"
    )
    valid = drain.complete and not stats["callback_failures"]
    if result.failures:
        valid = False
        print(f"FAILED REQUESTS: {result.failures}")
    # wrk drops the requests in flight when it stops: the gateway may have stored up to one per connection more.
    stored = sum(drain.by_status.values())
    if not 0 <= stored - result.accepted <= args.connections:
        valid = False
        print(f"STORED MISMATCH: {stored:,} messages stored for {result.accepted:,} 202 answers")
    if not drain.complete:
        print(f"INCOMPLETE: not every message was final and reported to Braze within {args.drain_timeout:g} s")
    return valid


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit status 1 when a request failed, a 202 was not stored or the drain did not finish."""
    args = _parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk is not installed: install it with `apt-get install wrk` (Debian/Ubuntu) and run again.")
        return 2
    with (
        tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp_name,
        open_target(args.database_url, Path(tmp_name)) as target,
    ):
        print(
            f"pipeline benchmark, store {target.label}, {args.workers} gateway process(es), mix "
            f"{_mix_label(args.mix)}; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs",
            flush=True,
        )
        run = _measure(args, Path(tmp_name), target, secrets.token_hex(4))
    valid = _report(run, args)
    if args.profile:
        print(f"profile of the gateway during the load: {args.profile}")
    return 0 if valid else 1


if __name__ == "__main__":
    sys.exit(main())
