"""Chaos run (issue 10): several gateways on one PostgreSQL, killed with ``kill -9`` under load, and a vendor outage.

Starts a real-HTTP fake NHN (``fake_vendor.py``, its own process, counting deliveries per recipient) and
``--gateways`` ``gateway serve`` processes on the ``bench`` database, all sending NHN Bizmessage (``--channel
kakao``, which honours an idempotency key) or NHN SMS LMS (``--channel lms``, which does not) for real over HTTP
to the fake. Then, for ``--duration`` seconds:

- posts ``--load`` messages a second, each to its own phone number, to a random live gateway (a post that gets no
  answer is posted again, to another gateway, with the same ``Idempotency-Key``, as Braze would);
- every ``--kill-every`` seconds sends SIGKILL to a random gateway (at most ``--kills``) and starts a new one
  ``--restart-after`` seconds later (never, if negative);
- from ``--outage-at`` for ``--outage-for`` seconds the vendor answers every send ``503`` (a 503 storm);
- from ``--hang-at`` for ``--hang-for`` seconds the vendor takes every send but answers it ``--hang-seconds`` later,
  past the gateway's read timeout (a hanging vendor: every such send is uncertain).

``--ignore-idempotency`` makes the fake drop the ``X-NC-API-IDEMPOTENCY-KEY`` header, as a vendor that does not
honour it would (NHN documents none for brand message and SMS sends): then only the gateway's own rules keep a
message from reaching the vendor twice.

Then it waits (at most ``--drain`` seconds) for every accepted message to reach the vendor and prints: accepted vs
delivered, lost (must be 0), duplicates and why, the messages still on their way with their state, the longest
wait after a crash, and the most sends the vendor saw in any one second against the configured limit
(``GATEWAY_NHN_RATE`` = ``--rate``, plus its burst of a tenth of a second's worth).

Run: ``.venv/bin/python bench/chaos.py [--gateways 3] [--duration 60] [--load 20] [--rate 60] [--kill-every 8]
[--outage-at 40] [--outage-for 10] [--hang-at 20] [--hang-for 0] [--hang-seconds 10.5] [--ignore-idempotency]
[--channel kakao|lms] [--database-url postgresql://postgres@127.0.0.1:5432/test]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import httpx
import psycopg
from fake_vendor import KAKAO, SMS, max_per_second
from server import AppSpec, uvicorn_command
from stores import PostgresTarget

_BENCH = Path(__file__).resolve().parent
_ROOT = _BENCH.parent
_START_TIMEOUT = 60.0
_POST_TRIES = 8


class Gateway:
    """One ``gateway serve`` process on a free loopback port."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        with log.open("ab") as sink:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gateway.cli", "serve"],
                env=env | {"GATEWAY_PORT": str(self.port)},
                cwd=_ROOT,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self) -> None:
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"a gateway exited with {self.process.returncode} at start")
            with suppress(httpx.TransportError):
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError("a gateway did not become ready")

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def fake_vendor(args: argparse.Namespace, log: Path) -> Iterator[str]:
    port = _free_port()
    env = dict(os.environ) | {
        "FAKE_VENDOR_LATENCY": str(args.latency),
        "FAKE_VENDOR_HANG": str(args.hang_seconds),
        "FAKE_VENDOR_IGNORE_IDEMPOTENCY": "1" if args.ignore_idempotency else "0",
    }
    spec = AppSpec("fake_vendor:create_fake_vendor", _BENCH, env)
    with log.open("wb") as sink:
        process = subprocess.Popen(
            uvicorn_command(spec, port), cwd=_BENCH, env=spec.env, stdout=sink, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + _START_TIMEOUT
        while True:
            with suppress(httpx.TransportError):
                if httpx.get(f"{url}/_stats", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the fake vendor did not start")
            time.sleep(0.1)
        yield url
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def gateway_env(database_url: str, vendor_url: str, args: argparse.Namespace) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("GATEWAY_")}
    return env | {
        "GATEWAY_DATABASE_URL": database_url,
        "GATEWAY_INGEST_TOKENS": "chaos-token",
        "GATEWAY_LOG_LEVEL": "WARNING",
        "GATEWAY_NHN_KAKAO_URL": vendor_url,
        "GATEWAY_NHN_KAKAO_APPKEY": KAKAO.appkey,
        "GATEWAY_NHN_KAKAO_SECRET": KAKAO.secret,
        "GATEWAY_NHN_SENDER_KEY": KAKAO.sender_key,
        "GATEWAY_NHN_SMS_URL": vendor_url,
        "GATEWAY_NHN_SMS_APPKEY": SMS.appkey,
        "GATEWAY_NHN_SMS_SECRET": SMS.secret,
        "GATEWAY_SMS_SENDER_NO": SMS.send_no,
        "GATEWAY_SENDER_NAME": "와디즈",
        "GATEWAY_OPT_OUT_080": "080-123-4567",
        "GATEWAY_NHN_RATE": str(args.rate),
        "GATEWAY_DISPATCH_BATCH": str(args.batch),
        # Every process shares one console key (serve refuses several workers without one; harmless here).
        "GATEWAY_SESSION_SECRET": "ab" * 32,
    }


def body_for(n: int, channel: str) -> dict[str, str]:
    phone = f"0109{n:07d}"
    common = {
        "userId": f"chaos-{n}",
        "phone": phone,
        "content": f"카오스 {n}: 지금 확인해 보세요",
        "dispatchId": f"c-{n}",
    }
    if channel == "kakao":
        return common | {"channel": "kakao", "fallback": "none"}
    return common | {"channel": "lms", "subject": "카오스", "ad": "false"}


class Run:
    """What the run saw, for the report."""

    def __init__(self) -> None:
        self.accepted: dict[str, tuple[str, float]] = {}  # phone -> (message id, when accepted)
        self.refused: list[int] = []
        self.unanswered = 0
        self.kills: list[float] = []
        self.outage: tuple[float, float] | None = None
        self.restarts: list[asyncio.Task[None]] = []
        self.started: list[Gateway] = []  # restarted gateways, live or not


async def post_load(
    client: httpx.AsyncClient, live: list[Gateway], run: Run, args: argparse.Namespace, tag: str
) -> None:
    async def post(n: int) -> None:
        body = body_for(n, args.channel)
        headers = {"Authorization": "Bearer chaos-token", "Idempotency-Key": f"{tag}-{n}"}
        for _ in range(_POST_TRIES):
            if not live:  # every gateway is restarting
                await asyncio.sleep(0.5)
                continue
            gateway = random.choice(live)
            try:
                response = await client.post(f"{gateway.url}/v1/braze/messages", json=body, headers=headers)
            except httpx.TransportError:
                await asyncio.sleep(0.5)
                continue
            if response.status_code in (200, 202):
                run.accepted[body["phone"]] = (response.json()["messageId"], time.time())
            else:
                run.refused.append(response.status_code)
            return
        run.unanswered += 1

    tasks = []
    started = time.monotonic()
    for n in range(int(args.duration * args.load)):
        tasks.append(asyncio.create_task(post(n)))
        await asyncio.sleep(max(0.0, started + (n + 1) / args.load - time.monotonic()))
    await asyncio.gather(*tasks)


async def kill_now_and_then(
    live: list[Gateway], env: dict[str, str], log: Path, run: Run, args: argparse.Namespace
) -> None:
    if args.kill_every <= 0:
        return
    started = time.monotonic()
    while len(run.kills) < args.kills and time.monotonic() - started + args.kill_every < args.duration:
        await asyncio.sleep(args.kill_every)
        if len(live) < 2:  # one gateway always runs: a kill never leaves Braze nowhere to post
            continue
        victim = random.choice(live)
        live.remove(victim)
        victim.kill()
        run.kills.append(time.time())
        if args.restart_after >= 0:
            run.restarts.append(asyncio.create_task(restart(live, env, log, run, args.restart_after)))


async def restart(live: list[Gateway], env: dict[str, str], log: Path, run: Run, after: float) -> None:
    await asyncio.sleep(after)
    gateway = Gateway(env, log)
    run.started.append(gateway)
    await asyncio.to_thread(gateway.wait_ready)
    live.append(gateway)


async def outage(client: httpx.AsyncClient, vendor_url: str, run: Run, args: argparse.Namespace) -> None:
    if args.outage_for <= 0:
        return
    await asyncio.sleep(args.outage_at)
    await client.post(f"{vendor_url}/_outage/on")
    began = time.time()
    await asyncio.sleep(args.outage_for)
    await client.post(f"{vendor_url}/_outage/off")
    run.outage = (began, time.time())


async def hang(client: httpx.AsyncClient, vendor_url: str, args: argparse.Namespace) -> None:
    if args.hang_for <= 0:
        return
    await asyncio.sleep(args.hang_at)
    await client.post(f"{vendor_url}/_hang/on")
    await asyncio.sleep(args.hang_for)
    await client.post(f"{vendor_url}/_hang/off")


async def chaos(
    args: argparse.Namespace, database_url: str, vendor_url: str, logs: Path
) -> tuple[Run, dict[str, Any], float]:
    env = gateway_env(database_url, vendor_url, args)
    log = logs / "gateways.log"
    live = [Gateway(env, log) for _ in range(args.gateways)]
    run = Run()
    try:
        await asyncio.gather(*(asyncio.to_thread(gateway.wait_ready) for gateway in live))
        stats, elapsed = await _load_and_drain(args, live, env, log, run, vendor_url)
    finally:
        for task in run.restarts:
            task.cancel()
        for gateway in live + run.started:
            gateway.stop()
    return run, stats, elapsed


async def _load_and_drain(
    args: argparse.Namespace, live: list[Gateway], env: dict[str, str], log: Path, run: Run, vendor_url: str
) -> tuple[dict[str, Any], float]:
    async with httpx.AsyncClient(timeout=10) as client:
        load_began = time.time()
        await asyncio.gather(
            post_load(client, live, run, args, f"chaos-{int(load_began)}"),
            kill_now_and_then(live, env, log, run, args),
            outage(client, vendor_url, run, args),
            hang(client, vendor_url, args),
        )
        await asyncio.gather(*run.restarts)
        print(f"load done: {len(run.accepted)} accepted; draining (at most {args.drain:g} s)")
        deadline = time.monotonic() + args.drain
        while True:
            stats = (await client.get(f"{vendor_url}/_stats")).json()
            missing = [phone for phone in run.accepted if phone not in stats["deliveries"]]
            if not missing or time.monotonic() > deadline:
                break
            await asyncio.sleep(1)
    return stats, time.time() - load_began


def report(run: Run, stats: dict[str, Any], elapsed: float, database_url: str, args: argparse.Namespace) -> None:
    deliveries: dict[str, int] = stats["deliveries"]
    first: dict[str, float] = stats["first"]
    accepted = run.accepted
    delivered = [phone for phone in accepted if phone in deliveries]
    missing = {accepted[phone][0]: phone for phone in accepted if phone not in deliveries}
    duplicates = {phone: count for phone, count in deliveries.items() if count > 1}
    limit = args.rate + args.rate / 10
    print(
        f"gateways {args.gateways}, channel {args.channel}, load {args.load}/s for {args.duration:g} s, "
        f"limit {args.rate}/s; run and drain {elapsed:.0f} s"
    )
    outage_s = "none" if run.outage is None else f"{run.outage[1] - run.outage[0]:.0f} s"
    hang_s = "none" if args.hang_for <= 0 else f"{args.hang_for:g} s answering after {args.hang_seconds:g} s"
    key = "ignored by the vendor" if args.ignore_idempotency else "honoured by the vendor (kakao)"
    print(f"kill -9: {len(run.kills)}; outage: {outage_s}; hanging vendor: {hang_s}; idempotency key {key}")
    print(
        f"accepted {len(accepted)}, refused {len(run.refused)} {sorted(set(run.refused))}, unanswered {run.unanswered}"
    )
    print(f"delivered {len(delivered)}; not delivered {len(missing)}")
    states = _states(database_url, list(missing))
    for message_id, (status, uncertain, reason) in sorted(states.items(), key=lambda item: item[1][0])[:10]:
        print(f"  {message_id} {status}{' (uncertain send)' if uncertain else ''}: {reason[:140]}")
    lost = [message_id for message_id, (status, uncertain, _) in states.items() if not uncertain]
    print(f"LOST (accepted, never at the vendor, not flagged uncertain): {len(lost)}")
    cut_off, taken_over = _after_crashes(database_url)
    at_vendor = sum(1 for message_id in cut_off if message_id not in missing)
    print(
        f"uncertain sends (ended unknown, left for the vendor's lookup): {len(cut_off)}, {at_vendor} of them had "
        f"reached the vendor; sends answered -1005 (a repeat of a send cut off by a kill): "
        f"{len(taken_over) - len(cut_off)}"
    )
    # Each takeover measured from the earliest kill of the minute before it: exact with one kill, an upper
    # bound with several (which kill cut the send off is not recorded).
    delays = [
        at - min(k for k in run.kills if at - 60 <= k <= at)
        for at in taken_over
        if any(at - 60 <= k <= at for k in run.kills)
    ]
    if delays:
        print(
            f"sends cut off by a kill, taken over by another process: {len(delays)}, the longest "
            f"{max(delays):.1f} s after the kill (an upper bound when kills were less than a minute apart)"
        )
    print(
        f"duplicates: {len(duplicates)} recipients received more than once; repeats stopped by the idempotency key: "
        f"{stats['deduplicated']}; sends the vendor took while hanging: {stats['hung']}"
    )
    per_message = Counter(deliveries.get(phone, 0) for phone in accepted)
    print("sends per message at the vendor: " + ", ".join(f"{n}×: {per_message[n]}" for n in sorted(per_message)))
    for phone, count in list(duplicates.items())[:5]:
        why = "NHN SMS honours no idempotency key" if args.channel == "lms" else "see the message's timeline"
        print(f"  {accepted.get(phone, ('?', 0))[0]}: {count} deliveries ({why})")
    waits = []
    for killed in run.kills:
        if run.outage and run.outage[0] - 5 <= killed <= run.outage[1] + 35:
            continue  # behind the breaker, a wait measures the outage, not the crash
        # Messages accepted before the kill and not at the vendor yet: among them, those the dead process held.
        after = [first[p] - killed for p, (_, at) in accepted.items() if at <= killed < first.get(p, 0)]
        if after:
            waits.append(max(after))
    if waits:
        print(
            f"longest wait after a crash (from the kill to the vendor, messages accepted before it): "
            f"{max(waits):.1f} s; per kill {', '.join(f'{w:.1f}' for w in waits)} (kills outside the outage)"
        )
    else:
        print("longest wait after a crash: no kill outside the outage left a message waiting")
    print(
        f"vendor requests {stats['requests']} (refused in the outage {stats['refused']}); most in any 1 s: "
        f"at the vendor {stats['max_per_second']}, admitted by the gateways' limiter {_admitted_max(database_url)}; "
        f"limit {args.rate}/s + burst {args.rate / 10:g} = {limit:g}"
    )


def _admitted_max(database_url: str) -> int:
    """The most vendor calls the gateways started in any one second (their attempts' start times, all processes)."""
    with psycopg.connect(database_url) as conn:
        times = [row[0] for row in conn.execute("SELECT started_at FROM attempts").fetchall()]
    return max_per_second(times)


def _after_crashes(database_url: str) -> tuple[set[str], list[float]]:
    """The messages that ended as uncertain sends, and when NHN refused a send as a repeat of one cut off by a kill.

    Both are what another process did with a message whose process died in the middle of sending it.
    """
    with psycopg.connect(database_url) as conn:
        uncertain = conn.execute("SELECT id FROM messages WHERE status = 'unknown' AND send_started_at IS NOT NULL")
        ids = {row[0] for row in uncertain.fetchall()}
        repeats = conn.execute("SELECT started_at FROM attempts WHERE vendor_code = '-1005'").fetchall()
        taken = conn.execute("SELECT e.at FROM events e WHERE e.reason LIKE 'uncertain send:%%'").fetchall()
    return ids, [row[0] for row in repeats + taken]


def _states(database_url: str, message_ids: list[str]) -> dict[str, tuple[str, bool, str]]:
    if not message_ids:
        return {}
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT m.id, m.status, m.send_started_at IS NOT NULL, "
            "(SELECT reason FROM events e WHERE e.message_id = m.id ORDER BY e.id DESC LIMIT 1) "
            "FROM messages m WHERE m.id = ANY(%s)",
            (message_ids,),
        ).fetchall()
    return {row[0]: (row[1], row[2] and row[1] == "unknown", row[3]) for row in rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gateways", type=int, default=3)
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--load", type=float, default=20, help="messages posted per second")
    parser.add_argument("--rate", type=int, default=60, help="GATEWAY_NHN_RATE")
    parser.add_argument("--batch", type=int, default=64, help="GATEWAY_DISPATCH_BATCH")
    parser.add_argument("--kill-every", type=float, default=8)
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--restart-after", type=float, default=2)
    parser.add_argument("--outage-at", type=float, default=40)
    parser.add_argument("--outage-for", type=float, default=10)
    parser.add_argument("--hang-at", type=float, default=20)
    parser.add_argument("--hang-for", type=float, default=0, help="seconds the vendor hangs (0: never)")
    parser.add_argument("--hang-seconds", type=float, default=10.5, help="how late a hanging vendor answers")
    parser.add_argument("--ignore-idempotency", action="store_true", help="the vendor ignores the idempotency key")
    parser.add_argument("--latency", type=float, default=0.02, help="the vendor's answer time (s)")
    parser.add_argument("--channel", choices=("kakao", "lms"), default="kakao")
    parser.add_argument("--drain", type=float, default=50)
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    target = PostgresTarget(args.database_url)
    target.create()
    target.empty()
    with psycopg.connect(target.url, autocommit=True) as conn:  # the shared limiter starts afresh too
        if conn.execute("SELECT to_regclass('public.vendor_gates')").fetchone() != (None,):
            conn.execute("TRUNCATE vendor_gates")
    with (
        tempfile.TemporaryDirectory(prefix="chaos-") as directory,
        fake_vendor(args, Path(directory) / "vendor.log") as vendor_url,
    ):
        run, stats, elapsed = asyncio.run(chaos(args, target.url, vendor_url, Path(directory)))
        report(run, stats, elapsed, target.url, args)
    target.empty()


if __name__ == "__main__":
    main()
