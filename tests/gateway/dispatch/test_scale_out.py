"""Several dispatchers on one store (issue 10, issue 15): the breaker's single probe, lease renewal and takeover.

Each "process" is its own app (store, emulators, dispatcher) on one database, with one fake clock; the two
backends run the same cases (on PostgreSQL the breakers are shared, on SQLite each process has its own).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from adapters.emulator import Emulator, Fault
from gateway.app import create_app
from gateway.models import Status
from tests.conftest import EMAIL_BODY, LMS_BODY, NIGHT_KST, SEED_BODY, Clock, ingest_headers, make_settings


@pytest.fixture
async def processes(database_url: str, tmp_path: Path, clock: Clock) -> AsyncIterator[list[Litestar]]:
    """Two gateways on one database, their dispatchers driven by the test."""
    settings = make_settings(tmp_path, GATEWAY_DATABASE_URL=database_url)
    apps = [create_app(settings, clock=clock, start_dispatcher=False) for _ in range(2)]
    async with AsyncTestClient(apps[0]) as first, AsyncTestClient(apps[1]) as second:
        apps[0].state.test_client, apps[1].state.test_client = first, second
        yield apps


async def post_many(app: Litestar, body: dict[str, Any], count: int) -> list[str]:
    """Post ``count`` messages through ``app`` (with the test client the fixture keeps)."""
    ids = []
    for n in range(count):
        response = await app.state.test_client.post(
            "/v1/braze/messages", json=body | {"dispatchId": f"d-{n}"}, headers=ingest_headers()
        )
        assert response.status_code == 202, response.text
        ids.append(response.json()["messageId"])
    return ids


def calls(apps: list[Litestar], product: str) -> int:
    return sum(len(app.state.runtime.emulators[product].requests) for app in apps)


async def called(emulator: Emulator) -> None:
    """Wait (up to 5 s) until the emulator has received a request."""
    for _ in range(500):
        if emulator.requests:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the vendor was never called")


async def run_both(apps: list[Litestar]) -> int:
    return sum(await asyncio.gather(*(app.state.dispatcher.run_once() for app in apps)))


async def test_a_503_storm_sends_one_probe_per_half_open_period(
    processes: list[Litestar], clock: Clock, database_url: str
) -> None:
    for app in processes:
        app.state.runtime.emulators["nhn_kakao"].script(*[Fault(http_status=503)] * 500)
        app.state.runtime.emulators["nhn_kakao"].latency = 0.02  # so that calls overlap
    ids = await post_many(processes[0], SEED_BODY, 30)
    shared = database_url.startswith("postgresql")
    # SQLite serves one process: the second gateway would only double what one shows.
    apps = processes if shared else processes[:1]

    await run_both(apps)  # the storm begins: 20 failures in a row open the breaker
    before = calls(apps, "nhn_kakao")
    assert before <= 30 + 2  # every message's first call was on its way; no second call after the breaker opened
    for message_id in ids:
        detail = await apps[0].state.store.get(message_id)
        assert detail.record.status is Status.RETRYING
    released = [event.reason for message_id in ids for event in (await apps[0].state.store.get(message_id)).events]
    assert any("circuit breaker is open" in reason and "untried" in reason for reason in released)

    for _ in range(3):
        clock.advance(10)
        await run_both(apps)
        assert calls(apps, "nhn_kakao") == before  # open: nothing is claimed, nothing sent
        clock.advance(21)  # half-open
        for _ in range(3):
            await run_both(apps)
            clock.advance(1)
        assert calls(apps, "nhn_kakao") == before + 1  # one probe, across both processes
        before += 1

    for app in apps:
        app.state.runtime.emulators["nhn_kakao"].reset()  # the vendor is back
    clock.advance(30)
    for _ in range(10):
        await run_both(apps)
        clock.advance(6)
    for message_id in ids:
        detail = await apps[0].state.store.get(message_id)
        assert detail.record.status is Status.ACCEPTED, detail.events[-1].reason


async def test_a_slow_send_on_a_live_process_is_never_taken_over(processes: list[Litestar], clock: Clock) -> None:
    live, other = processes
    [message_id] = await post_many(live, SEED_BODY, 1)
    emulator = live.state.runtime.emulators["nhn_kakao"]
    emulator.latency = 0.5
    sending = asyncio.create_task(live.state.dispatcher.run_once())
    await called(emulator)

    for _ in range(4):  # 60 s of a slow vendor, three times the lease, with the heartbeat renewing it
        clock.advance(15)
        assert await live.state.dispatcher.renew_leases() == 1
        assert await other.state.dispatcher.run_once() == 0

    await sending
    assert await other.state.dispatcher.run_once() == 0
    detail = await live.state.store.get(message_id)
    assert detail.record.status is Status.ACCEPTED
    assert len(detail.attempts) == 1
    assert len(other.state.runtime.emulators["nhn_kakao"].requests) == 0


async def die_mid_send(app: Litestar, product: str) -> None:
    """Start sending and stop the process during the vendor call: no answer recorded, no heartbeat any more."""
    emulator = app.state.runtime.emulators[product]
    emulator.latency = 60
    sending = asyncio.create_task(app.state.dispatcher.run_once())
    await called(emulator)
    sending.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await sending


async def test_a_dead_process_s_message_is_taken_over_within_30_s_and_sent_once_the_lookup_says_so(
    processes: list[Litestar], clock: Clock
) -> None:
    dead, other = processes
    [message_id] = await post_many(dead, SEED_BODY, 1)
    await die_mid_send(dead, "nhn_kakao")

    clock.advance(19)
    assert await other.state.dispatcher.run_once() == 0  # the lease still holds
    clock.advance(2)
    assert await other.state.dispatcher.run_once() == 1
    detail = await other.state.store.get(message_id)
    assert detail.record.status is Status.RETRYING
    assert [(a.outcome, a.vendor_code) for a in detail.attempts] == [("uncertain", "cut-off")]

    # The cut-off call never reached NHN (its answer was 60 s away): the lookup finds nothing, so it goes again.
    clock.now = detail.record.next_attempt_at
    assert await other.state.dispatcher.run_once() == 1
    detail = await other.state.store.get(message_id)
    assert detail.record.status is Status.ACCEPTED
    assert [a.vendor_code for a in detail.attempts] == ["cut-off", "not_found", "0"]
    [_, sent] = other.state.runtime.emulators["nhn_kakao"].requests  # the lookup, then the send
    [first] = dead.state.runtime.emulators["nhn_kakao"].requests
    # NHN Bizmessage honours the idempotency key: the same key again cannot send it twice.
    assert sent.headers["X-NC-API-IDEMPOTENCY-KEY"] == first.headers["X-NC-API-IDEMPOTENCY-KEY"] == message_id


async def test_a_send_cut_off_at_a_vendor_without_idempotency_keys_or_lookup_ends_uncertain_not_resent(
    processes: list[Litestar], clock: Clock
) -> None:
    dead, other = processes
    [message_id] = await post_many(dead, EMAIL_BODY, 1)
    await die_mid_send(dead, "sendgrid")
    started = (await other.state.store.get(message_id)).record.send_started_at
    assert started == clock.now

    clock.advance(21)
    assert await other.state.dispatcher.run_once() == 1

    detail = await other.state.store.get(message_id)
    assert detail.record.status is Status.UNKNOWN
    assert detail.record.uncertain  # kept, so the vendor's lookup can settle it
    assert detail.events[-1].reason.startswith("uncertain send: a call to sendgrid began at 2026-11-27 03:00:00 UTC")
    assert "honours no idempotency key" in detail.events[-1].reason
    assert len(other.state.runtime.emulators["sendgrid"].requests) == 0
    assert detail.attempts == ()


async def test_an_uncertain_send_claimed_in_quiet_hours_is_not_held_for_a_resend(
    processes: list[Litestar], clock: Clock
) -> None:
    dead, other = processes
    [message_id] = await post_many(dead, LMS_BODY | {"ad": "true"}, 1)  # advertising LMS: no sends 21:00-08:00
    await die_mid_send(dead, "nhn_sms")

    clock.now = NIGHT_KST
    assert await other.state.dispatcher.run_once() == 1

    # Recorded as an uncertain attempt before any hold: the lookup, not a blind resend, decides in the morning.
    detail = await other.state.store.get(message_id)
    assert detail.record.status is Status.RETRYING
    assert [(a.outcome, a.vendor_code) for a in detail.attempts] == [("uncertain", "cut-off")]


async def test_an_answered_send_clears_its_mark(processes: list[Litestar], clock: Clock) -> None:
    app = processes[0]
    [message_id] = await post_many(app, LMS_BODY, 1)
    app.state.runtime.emulators["nhn_sms"].script(Fault(http_status=503))
    await app.state.dispatcher.run_once()
    detail = await app.state.store.get(message_id)
    assert detail.record.status is Status.ACCEPTED
    assert len(detail.attempts) == 2
    assert not detail.record.uncertain


async def test_readyz_and_metrics_show_each_vendor_product_s_breaker(
    processes: list[Litestar], database_url: str
) -> None:
    sender, watcher = processes
    sender.state.runtime.emulators["nhn_sms"].script(*[Fault(http_status=503)] * 60)
    await post_many(sender, LMS_BODY, 20)
    await sender.state.dispatcher.run_once()

    # On PostgreSQL the breaker is shared: a process that sent nothing reports it open too.
    reporters = processes if database_url.startswith("postgresql") else [sender]
    closed = dict.fromkeys(("ncp", "nhn_email", "nhn_kakao", "sendgrid", "solapi"), "closed")
    for app in reporters:
        ready = await app.state.test_client.get("/readyz")
        metrics = (await app.state.test_client.get("/metrics")).text
        assert ready.status_code == 200  # a vendor outage does not make the gateway unready: messages wait
        assert ready.json()["breakers"] == closed | {"nhn_sms": "open"}
        assert 'gateway_vendor_breaker{product="nhn_sms",state="open"} 1.0' in metrics
        assert 'gateway_vendor_breaker{product="nhn_sms",state="closed"} 0.0' in metrics
    if watcher not in reporters:
        assert (await watcher.state.test_client.get("/readyz")).json()["breakers"]["nhn_sms"] == "closed"
