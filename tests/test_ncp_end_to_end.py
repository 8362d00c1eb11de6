"""Naver Cloud SENS end to end: ingest -> LMS through SENS -> polled result -> delivered, emulated and over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
import respx
from litestar import Litestar
from litestar.testing import AsyncTestClient

from adapters.ncp.adapter import sign
from gateway.app import create_app
from gateway.dispatch.receipts import ReceiptApplier
from gateway.receipts.poll import ResultPoller
from tests.conftest import LMS_BODY, Clock, ingest_headers, make_settings, staff_headers

Client = AsyncTestClient[Litestar]
AD_LMS = LMS_BODY | {"ad": "true"}
SENDER = {"GATEWAY_SENDER_NAME": "와디즈", "GATEWAY_OPT_OUT_080": "080-123-4567"}
#: SENS for real at a test host, every other product emulated.
REAL_SENS = {
    "GATEWAY_LMS_VENDOR": "ncp",
    "GATEWAY_NCP_URL": "https://sens.test",
    "GATEWAY_NCP_ACCESS_KEY": "AK-1",
    "GATEWAY_NCP_SECRET_KEY": "SK-1",
    "GATEWAY_NCP_SERVICE_ID": "ncp:sms:kr:1234:svc",
    "GATEWAY_SMS_SENDER_NO": "0212345678",
    **SENDER,
}
MESSAGES = "/sms/v2/services/ncp:sms:kr:1234:svc/messages"


async def started(tmp_path: Path, clock: Clock, **env: str) -> AsyncIterator[tuple[Client, Litestar]]:
    app = create_app(make_settings(tmp_path, **env), clock=clock, start_dispatcher=False)
    async with AsyncTestClient(app) as client:
        yield client, app


@pytest.fixture
async def sandbox(tmp_path: Path, clock: Clock) -> AsyncIterator[tuple[Client, Litestar]]:
    async for pair in started(tmp_path, clock, GATEWAY_LMS_VENDOR="ncp", **SENDER):
        yield pair


async def post(client: Client, body: dict[str, Any]) -> str:
    response = await client.post("/v1/braze/messages", json=body, headers=ingest_headers())
    assert response.status_code == 202, response.text
    return str(response.json()["messageId"])


async def shown(client: Client, message_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/admin/messages/{message_id}", headers=staff_headers())
    assert response.status_code == 200, response.text
    return dict(response.json())


async def send_poll_and_apply(app: Litestar, clock: Clock) -> None:
    """Send what is due, wait one poll interval, poll SENS and apply what it reported."""
    dispatcher = app.state.dispatcher
    await dispatcher.run_once()
    clock.advance(app.state.settings.poll_intervals["ncp"])
    [poller] = [p for p in dispatcher.duties(ResultPoller) if p.vendor == "ncp"]
    assert await poller.run_once() == 1
    await dispatcher.duty(ReceiptApplier).run_once()


async def test_an_lms_goes_through_emulated_sens_and_its_polled_result_delivers_it(
    sandbox: tuple[Client, Litestar], clock: Clock
) -> None:
    client, app = sandbox
    message_id = await post(client, LMS_BODY)

    await send_poll_and_apply(app, clock)
    detail = await shown(client, message_id)

    assert detail["message"]["vendor"] == "ncp"
    assert detail["message"]["status"] == "delivered"
    assert [e["status"] for e in detail["timeline"]] == ["queued", "accepted", "delivered"]
    assert [(r["vendor"], r["code"], r["state"]) for r in detail["receipts"]] == [("ncp", "0", "applied")]
    assert detail["vendorRequest"]["body"]["contentType"] == "COMM"
    assert detail["vendorRequest"]["headers"]["x-ncp-apigw-signature-v2"] == "[redacted]"


async def test_a_body_may_ask_for_sens_while_lms_defaults_to_another_vendor(tmp_path: Path, clock: Clock) -> None:
    async for client, app in started(tmp_path, clock):
        message_id = await post(client, LMS_BODY | {"vendor": "ncp"})
        await send_poll_and_apply(app, clock)

        assert (await shown(client, message_id))["message"]["status"] == "delivered"
        assert len(app.state.runtime.emulators["ncp"].requests) == 3  # the send and the two lookups


async def test_an_advertising_lms_carries_the_legal_text_and_goes_as_ad(
    sandbox: tuple[Client, Litestar], clock: Clock
) -> None:
    client, app = sandbox
    message_id = await post(client, AD_LMS)

    await send_poll_and_apply(app, clock)
    body = (await shown(client, message_id))["vendorRequest"]["body"]

    assert body["contentType"] == "AD"
    lines = body["content"].splitlines()
    assert lines[0].startswith("(광고)와디즈")
    assert lines[-1] == "무료거부 080-123-4567"
    assert (await shown(client, message_id))["message"]["status"] == "delivered"


async def test_a_failure_sens_reports_fails_the_message_with_its_code(tmp_path: Path, clock: Clock) -> None:
    outcome = {"GATEWAY_SANDBOX_OUTCOMES": "ncp:010-9876-5432=3015", "GATEWAY_LMS_VENDOR": "ncp"}
    async for client, app in started(tmp_path, clock, **outcome):
        message_id = await post(client, LMS_BODY)
        await send_poll_and_apply(app, clock)
        detail = await shown(client, message_id)

        assert detail["message"]["status"] == "failed"
        assert detail["timeline"][-1]["reason"].startswith("failed: ncp 3015")


def signed(request: httpx.Request) -> bool:
    timestamp = request.headers["x-ncp-apigw-timestamp"]
    expected = sign("SK-1", request.method, request.url.raw_path.decode(), timestamp, "AK-1")
    return request.headers["x-ncp-apigw-signature-v2"] == expected and request.headers["x-ncp-iam-access-key"] == "AK-1"


@respx.mock
async def test_over_real_http_an_advertising_lms_is_sent_polled_and_delivered(tmp_path: Path, clock: Clock) -> None:
    sent: list[dict[str, Any]] = []

    def take(request: httpx.Request) -> httpx.Response:
        assert signed(request)
        sent.append(msgspec.json.decode(request.content))
        return httpx.Response(202, json={"requestId": "R-1", "statusCode": "202", "statusName": "success"})

    def listing(request: httpx.Request) -> httpx.Response:
        assert signed(request)
        assert request.url.params["requestId"] == "R-1"
        return httpx.Response(200, json={"requestId": "R-1", "messages": [{"messageId": "M-1", "to": "01098765432"}]})

    def result(request: httpx.Request) -> httpx.Response:
        assert signed(request)
        completed = {"messageId": "M-1", "status": "COMPLETED", "statusCode": "0", "statusName": "success"}
        return httpx.Response(200, json={"statusCode": "200", "statusName": "success", "messages": [completed]})

    respx.post(f"https://sens.test{MESSAGES}").mock(side_effect=take)
    respx.get(f"https://sens.test{MESSAGES}").mock(side_effect=listing)
    respx.get(f"https://sens.test{MESSAGES}/M-1").mock(side_effect=result)

    async for client, app in started(tmp_path, clock, **REAL_SENS):
        assert "ncp" not in app.state.runtime.emulators
        message_id = await post(client, AD_LMS)
        await send_poll_and_apply(app, clock)
        detail = await shown(client, message_id)

    assert detail["message"]["status"] == "delivered"
    [body] = sent
    assert (body["type"], body["contentType"], body["from"], body["messages"]) == (
        "LMS",
        "AD",
        "0212345678",
        [{"to": "01098765432"}],
    )
    assert body["content"].startswith("(광고)와디즈")
    assert body["content"].endswith("무료거부 080-123-4567")
