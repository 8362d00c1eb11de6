"""NHN Email result polls through a sandboxed gateway whose email vendor is NHN."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from adapters.emulator import Fault
from gateway.app import create_app
from gateway.dispatch.receipts import ReceiptApplier
from gateway.models import Status
from gateway.receipts.poll import ResultPoller
from tests.conftest import Clock, ingest_headers, make_settings

ADDRESS = "jiwoo@example.com"
EMAIL_BODY = {"channel": "email", "userId": "u-1", "email": ADDRESS, "subject": "안내", "content": "<p>안녕하세요</p>"}


@pytest.fixture
def app(tmp_path: Path, clock: Clock) -> Litestar:
    settings = make_settings(tmp_path, GATEWAY_EMAIL_VENDOR="nhn", GATEWAY_NHN_EMAIL_POLL_INTERVAL="30")
    return create_app(settings, clock=clock, start_dispatcher=False)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app) as test_client:
        yield test_client


async def accepted_email(client: AsyncTestClient[Litestar], app: Litestar) -> str:
    response = await client.post("/v1/braze/messages", json=EMAIL_BODY, headers=ingest_headers())
    await app.state.dispatcher.run_once()
    return str(response.json()["messageId"])


async def poll_and_apply(app: Litestar) -> int:
    polled: int = await app.state.dispatcher.duty(ResultPoller).run_once()
    await app.state.dispatcher.duty(ReceiptApplier).run_once()
    return polled


async def test_a_failed_mail_ends_failed_with_nhn_s_status(
    client: AsyncTestClient[Litestar], app: Litestar, clock: Clock
) -> None:
    app.state.runtime.emulators["nhn_email"].outcomes[ADDRESS] = "SST3"
    message_id = await accepted_email(client, app)

    clock.advance(30)
    assert await poll_and_apply(app) == 1
    detail = await app.state.store.get(message_id)

    assert detail.record.status is Status.FAILED
    assert detail.events[-1].reason == "failed: nhn SST3 발송 실패 (DSN 5.1.1)"
    [query] = [r for r in app.state.runtime.emulators["nhn_email"].requests if r.method == "GET"]
    assert query.url.params["requestId"] == detail.record.vendor_message_id
    assert ADDRESS not in str(query.url)


async def test_a_mail_still_sending_is_polled_every_interval_and_its_status_stored_once(
    client: AsyncTestClient[Litestar], app: Litestar, clock: Clock
) -> None:
    emulator = app.state.runtime.emulators["nhn_email"]
    emulator.outcomes[ADDRESS] = "SST1"
    message_id = await accepted_email(client, app)

    for _ in range(2):
        clock.advance(30)
        assert await poll_and_apply(app) == 1
        assert await poll_and_apply(app) == 0
    emulator.outcomes[ADDRESS] = "SST2"
    clock.advance(30)
    await poll_and_apply(app)
    detail = await app.state.store.get(message_id)

    assert detail.record.status is Status.DELIVERED
    assert [(r.receipt.code, r.state) for r in detail.receipts] == [("SST1", "progress"), ("SST2", "applied")]


async def test_a_failed_query_stores_nothing_and_is_tried_again(
    client: AsyncTestClient[Litestar], app: Litestar, clock: Clock
) -> None:
    message_id = await accepted_email(client, app)
    app.state.runtime.emulators["nhn_email"].script(Fault(http_status=500), Fault(timeout=True))

    clock.advance(30)
    await poll_and_apply(app)
    clock.advance(30)
    await poll_and_apply(app)
    assert (await app.state.store.get(message_id)).record.status is Status.ACCEPTED
    clock.advance(30)
    await poll_and_apply(app)

    assert (await app.state.store.get(message_id)).record.status is Status.DELIVERED
