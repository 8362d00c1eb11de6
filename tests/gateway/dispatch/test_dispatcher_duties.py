"""The dispatcher's part in receipts: periodic duties, final states queued for Braze, one fallback at most."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from adapters.emulator import Fault
from gateway.app import create_app
from gateway.dispatch.receipts import ReceiptApplier
from gateway.dispatch.sweep import ReceiptSweep
from gateway.feedback.braze import BrazeReporter
from gateway.models import Status
from tests.conftest import BRAZE, NIGHT_KST, SEED_BODY, Clock, ingest_headers, make_settings

Client = AsyncTestClient[Litestar]


@pytest.fixture
def app(tmp_path: Path, clock: Clock) -> Litestar:
    return create_app(make_settings(tmp_path, **BRAZE), clock=clock, start_dispatcher=False)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[Client]:
    async with AsyncTestClient(app) as test_client:
        yield test_client


async def post(client: Client, **changes: str) -> str:
    response = await client.post("/v1/braze/messages", json=SEED_BODY | changes, headers=ingest_headers())
    assert response.status_code == 202, response.text
    return str(response.json()["messageId"])


async def queued_feedback(app: Litestar) -> list[tuple[str, Status, str | None]]:
    items = await app.state.store.claim_feedback(now=app.state.clock(), limit=100, lease=60)
    return [(item.record.id, item.state, item.code) for item in items]


async def test_duties_are_attached_and_found_by_type(app: Litestar, client: Client) -> None:
    dispatcher = app.state.dispatcher

    assert isinstance(dispatcher.duty(ReceiptApplier), ReceiptApplier)
    assert isinstance(dispatcher.duty(BrazeReporter), BrazeReporter)
    with pytest.raises(LookupError):
        dispatcher.duty(int)


async def test_a_started_dispatcher_runs_its_duties_until_stopped(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path), clock=Clock(), start_dispatcher=False)
    async with AsyncTestClient(app):
        dispatcher = app.state.dispatcher
        sweep = dispatcher.duty(ReceiptSweep)
        ran = asyncio.Event()
        original = sweep.run_once

        async def observed() -> int:
            ran.set()
            ran_for: int = await original()
            return ran_for

        sweep.run_once = observed
        sweep.interval = 0.001  # it would run again and again, unless stopped
        await dispatcher.start()
        await asyncio.wait_for(ran.wait(), 5)
        await dispatcher.stop()
        ran.clear()
        await asyncio.sleep(0.05)
        assert not ran.is_set()


async def test_dead_and_fallback_are_queued_for_braze_with_the_vendor_code(app: Litestar, client: Client) -> None:
    emulator = app.state.runtime.emulators["nhn_kakao"]
    emulator.script(Fault(vendor_code="-3006"), Fault(vendor_code="-4019"))
    dead = await post(client, fallback="none", dispatchId="d-1")
    fell_back = await post(client, dispatchId="d-2")

    await app.state.dispatcher.run_once()

    assert sorted(await queued_feedback(app)) == sorted(
        [(dead, Status.DEAD, "-3006"), (fell_back, Status.FALLBACK, "-4019")]
    )


async def test_suppressed_is_queued_for_braze(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, GATEWAY_QUIET_HOURS="suppress", **BRAZE)
    app = create_app(settings, clock=Clock(NIGHT_KST), start_dispatcher=False)
    async with AsyncTestClient(app) as client:
        message_id = await post(client)
        await app.state.dispatcher.run_once()

        assert await queued_feedback(app) == [(message_id, Status.SUPPRESSED, None)]


async def test_without_braze_nothing_is_queued(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path), clock=Clock(), start_dispatcher=False)
    async with AsyncTestClient(app) as client:
        app.state.runtime.emulators["nhn_kakao"].script(Fault(vendor_code="-3006"))
        await post(client, fallback="none")
        await app.state.dispatcher.run_once()

        assert await queued_feedback(app) == []
        with pytest.raises(LookupError):
            app.state.dispatcher.duty(BrazeReporter)


async def test_a_replayed_message_that_fell_back_before_ends_dead_instead_of_falling_back_twice(
    app: Litestar, client: Client
) -> None:
    emulator = app.state.runtime.emulators["nhn_kakao"]
    emulator.script(Fault(vendor_code="-4019"))
    message_id = await post(client)
    await app.state.dispatcher.run_once()
    first_child = (await app.state.store.get(message_id)).record.child_id
    await app.state.dispatcher.run_once()  # the LMS goes out

    assert await app.state.store.replay([message_id], "replayed by a test", now=app.state.clock()) == [message_id]
    emulator.script(Fault(vendor_code="-4019"))
    await app.state.dispatcher.run_once()
    record = (await app.state.store.get(message_id)).record

    assert (record.status, record.child_id) == (Status.DEAD, first_child)
    assert await app.state.dispatcher.run_once() == 0
