"""The whole path of a message: HTTP ingest -> store -> dispatcher -> vendor emulator -> admin API."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from adapters.emulator import Fault
from gateway.app import create_app
from gateway.log import configure_logging
from tests.conftest import INGEST_TOKEN, OPERATOR_TOKEN, SEED_BODY, Clock, ingest_headers, make_settings, staff_headers

URL = "/v1/braze/messages"
Client = AsyncTestClient[Litestar]


async def post_seed(client: Client, **changes: str) -> str:
    response = await client.post(URL, json=SEED_BODY | changes, headers=ingest_headers())
    assert response.status_code == 202, response.text
    return str(response.json()["messageId"])


async def admin_detail(client: Client, message_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/admin/messages/{message_id}", headers=staff_headers())
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_seed_message_is_accepted_by_the_nhn_emulator_with_the_exact_body(client: Client, app: Litestar) -> None:
    message_id = await post_seed(client)
    assert await app.state.dispatcher.run_once() == 1
    detail = await admin_detail(client, message_id)
    assert detail["message"]["status"] == "accepted"
    assert detail["message"]["phone"] == "010-****-5678"
    [attempt] = detail["attempts"]
    assert attempt["outcome"] == "accepted"
    assert attempt["httpStatus"] == 200
    sent = detail["vendorRequest"]
    assert sent["method"] == "POST"
    assert sent["url"].endswith("/brand-message/v1.0/appkeys/sandbox/freestyle-messages")
    assert sent["headers"]["X-Secret-Key"] == "[redacted]"
    body = sent["body"]
    assert body["chatBubbleType"] == "TEXT"
    assert body["content"] == SEED_BODY["content"]
    assert body["buttons"] == [
        {
            "name": "지금 확인하기",
            "type": "WL",
            "linkMo": SEED_BODY["buttonLinkMobile"],
            "linkPc": SEED_BODY["buttonLinkPC"],
        }
    ]
    assert body["recipientList"] == [
        {
            "recipientNo": "010-****-5678",
            "targeting": "I",
            "recipientGroupingKey": message_id,
            "resendParameter": {"isResend": False},
        }
    ]
    emulator = app.state.runtime.emulators["nhn_kakao"]
    assert emulator.json_bodies()[0]["recipientList"][0]["recipientNo"] == "01012345678"
    assert [e["status"] for e in detail["timeline"]] == ["queued", "accepted"]


async def test_braze_retry_never_sends_twice(client: Client, app: Litestar) -> None:
    await post_seed(client)
    await app.state.dispatcher.run_once()
    second = await client.post(URL, json=SEED_BODY, headers=ingest_headers())
    assert second.status_code == 200
    assert second.json()["status"] == "accepted"
    assert await app.state.dispatcher.run_once() == 0
    assert len(app.state.runtime.emulators["nhn_kakao"].requests) == 1


async def test_503_twice_then_success_is_one_message_with_three_attempts(client: Client, app: Litestar) -> None:
    emulator = app.state.runtime.emulators["nhn_kakao"]
    emulator.script(Fault(http_status=503), Fault(http_status=503))
    message_id = await post_seed(client)
    await app.state.dispatcher.run_once()
    detail = await admin_detail(client, message_id)
    assert detail["message"]["status"] == "accepted"
    assert [(a["number"], a["httpStatus"], a["outcome"]) for a in detail["attempts"]] == [
        (1, 503, "retryable"),
        (2, 503, "retryable"),
        (3, 200, "accepted"),
    ]
    assert len(emulator.requests) == 3
    # Every attempt carried the same idempotency key, so NHN could never send twice.
    assert {r.headers["X-NC-API-IDEMPOTENCY-KEY"] for r in emulator.requests} == {message_id}


async def test_vendor_validation_error_is_dead_after_one_attempt(client: Client, app: Litestar) -> None:
    app.state.runtime.emulators["nhn_kakao"].script(Fault(vendor_code="-3006"))
    message_id = await post_seed(client, fallback="none")
    await app.state.dispatcher.run_once()
    detail = await admin_detail(client, message_id)
    assert detail["message"]["status"] == "dead"
    assert len(detail["attempts"]) == 1
    assert detail["attempts"][0]["vendorCode"] == "-3006"
    assert await app.state.dispatcher.run_once() == 0


async def test_restart_resumes_a_message_waiting_for_retry(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    clock = Clock()
    first = create_app(settings, clock=clock, start_dispatcher=False)
    async with AsyncTestClient(first) as client:
        first.state.runtime.emulators["nhn_kakao"].script(*[Fault(http_status=503)] * 3)
        message_id = await post_seed(client)
        await first.state.dispatcher.run_once()
        assert (await admin_detail(client, message_id))["message"]["status"] == "retrying"

    clock.advance(3600)
    second = create_app(settings, clock=clock, start_dispatcher=False)
    async with AsyncTestClient(second) as client:
        assert await second.state.dispatcher.run_once() == 1
        detail = await admin_detail(client, message_id)
        assert detail["message"]["status"] == "accepted"
        assert len(detail["attempts"]) == 4


async def test_background_dispatcher_delivers_without_being_asked(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path), clock=Clock())
    async with AsyncTestClient(app) as client:
        message_id = await post_seed(client)
        for _ in range(100):
            detail = await admin_detail(client, message_id)
            if detail["message"]["status"] == "accepted":
                break
            await asyncio.sleep(0.05)
        assert detail["message"]["status"] == "accepted"


async def test_admin_requires_a_staff_token(client: Client) -> None:
    message_id = await post_seed(client)
    assert (await client.get(f"/v1/admin/messages/{message_id}")).status_code == 401
    ingest_token = await client.get(f"/v1/admin/messages/{message_id}", headers=ingest_headers())
    assert ingest_token.status_code == 401
    assert (await client.get("/v1/admin/messages/nope", headers=staff_headers(OPERATOR_TOKEN))).status_code == 404


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    """The production logging set-up for one test, written to a buffer and undone afterwards."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, logging.getLogger("httpx").level)
    buffer = io.StringIO()
    configure_logging("DEBUG", buffer)
    yield buffer
    root.handlers[:], root.level = saved[0], saved[1]
    logging.getLogger("httpx").setLevel(saved[2])


async def test_no_log_line_carries_a_phone_number_email_or_token(
    client: Client, app: Litestar, json_logs: io.StringIO
) -> None:
    app.state.runtime.emulators["nhn_kakao"].script(Fault(http_status=503), Fault(timeout=True))
    await post_seed(client)
    await client.post(URL, json=SEED_BODY | {"phone": "not a phone"}, headers=ingest_headers())
    await client.post(URL, json=SEED_BODY, headers={"Authorization": "Bearer wrong-secret"})
    await app.state.dispatcher.run_once()
    logged = json_logs.getvalue()
    assert '"message_id"' in logged, "the run should have logged with message ids"
    for forbidden in ("01012345678", "010-1234-5678", INGEST_TOKEN, "wrong-secret", "appkeys/sandbox"):
        assert forbidden not in logged


async def test_a_kakao_image_that_cannot_be_fetched_is_left_out_with_a_note(client: Client, app: Litestar) -> None:
    # A full sandbox reaches no network: the image fetch is refused, the text still goes (docs/vendors.md).
    message_id = await post_seed(client, imageUrl="https://93.184.216.34/banner.png")
    assert await app.state.dispatcher.run_once() == 1
    detail = await admin_detail(client, message_id)
    assert detail["message"]["status"] == "accepted"
    assert detail["vendorRequest"]["body"]["chatBubbleType"] == "TEXT"
    assert "image" not in detail["vendorRequest"]["body"]
    notes = [e["reason"] for e in detail["timeline"] if "image left out" in (e["reason"] or "")]
    assert notes == ["image left out: the image could not be fetched (ConnectError)"]
    assert app.state.runtime.emulators["nhn_kakao"].images == {}
