"""The whole life of a message in sandbox mode: ingest -> send -> the emulator's callback -> final state."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import respx
from litestar import Litestar
from litestar.testing import AsyncTestClient

from gateway.app import create_app
from gateway.channels.lms import MAX_BODY_BYTES, cp949_bytes
from gateway.dispatch.receipts import ReceiptApplier
from gateway.dispatch.sweep import ReceiptSweep
from gateway.feedback.braze import BrazeReporter
from gateway.receipts.poll import ResultPoller
from gateway.receipts.sandbox import SandboxCallbacks
from tests.conftest import OPERATOR_TOKEN, SEED_BODY, Clock, ingest_headers, make_settings, staff_headers

Client = AsyncTestClient[Litestar]
PHONE = "01012345678"
EMAIL_BODY = {
    "channel": "email",
    "userId": "u-mail-1",
    "email": "jiwoo@example.com",
    "subject": "지금 가장 핫한 프로젝트",
    "content": "<p>서포터님, 지금 확인해 보세요.</p>",
    "campaignId": "c-mail",
}
BRAZE = "https://rest.braze.test"
_EMOJI = re.compile("[\U0001f300-\U0001faff\u2600-\u27bf]")


async def post(client: Client, body: dict[str, Any]) -> str:
    response = await client.post("/v1/braze/messages", json=body, headers=ingest_headers())
    assert response.status_code == 202, response.text
    return str(response.json()["messageId"])


async def detail(client: Client, message_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/admin/messages/{message_id}", headers=staff_headers())
    assert response.status_code == 200, response.text
    return dict(response.json())


async def settle(app: Litestar) -> None:
    """Send what is due, let the emulators report, and apply their reports."""
    dispatcher = app.state.dispatcher
    await dispatcher.run_once()
    await dispatcher.duty(SandboxCallbacks).run_once()
    await dispatcher.duty(ReceiptApplier).run_once()


async def test_a_kakao_message_is_delivered_on_its_own(client: Client, app: Litestar) -> None:
    message_id = await post(client, SEED_BODY)

    await settle(app)
    shown = await detail(client, message_id)

    assert shown["message"]["status"] == "delivered"
    assert [e["status"] for e in shown["timeline"]] == ["queued", "accepted", "delivered"]
    assert shown["timeline"][-1]["reason"] == "delivered: nhn 1000 success"
    [receipt] = shown["receipts"]
    assert (receipt["vendor"], receipt["outcome"], receipt["code"], receipt["state"]) == (
        "nhn",
        "delivered",
        "1000",
        "applied",
    )


async def test_kakao_3018_falls_back_to_an_lms_that_is_delivered_and_linked_both_ways(
    client: Client, app: Litestar
) -> None:
    app.state.runtime.emulators["nhn_kakao"].outcomes[PHONE] = "3018"
    kakao_id = await post(client, SEED_BODY)

    await settle(app)  # kakao accepted, its receipt says 3018: the LMS is queued
    await settle(app)  # the LMS is sent and delivered
    kakao = await detail(client, kakao_id)
    lms_id = kakao["message"]["childId"]
    lms = await detail(client, lms_id)

    assert kakao["message"]["status"] == "fallback"
    assert [e["status"] for e in kakao["timeline"]] == ["queued", "accepted", "fallback"]
    assert "3018" in kakao["timeline"][-1]["reason"]
    assert lms_id in kakao["timeline"][-1]["reason"]
    assert [r["code"] for r in kakao["receipts"]] == ["3018"]
    assert lms["message"]["status"] == "delivered"
    assert lms["message"]["parentId"] == kakao_id
    assert kakao_id in lms["timeline"][0]["reason"]
    assert [e["status"] for e in lms["timeline"]] == ["queued", "accepted", "delivered"]
    sent = app.state.runtime.emulators["nhn_sms"].json_bodies()
    [lms_request] = sent
    assert lms_request["recipientList"][0]["recipientNo"] == PHONE
    text = lms_request["body"]
    assert cp949_bytes(text) <= MAX_BODY_BYTES
    assert not _EMOJI.search(text)
    assert text.startswith("(광고)")
    assert "무료거부" in text.splitlines()[-1]
    assert "지금 확인하기: https://www.wadiz.kr/web/campaign/detail/356850" in text


async def test_the_fallback_lms_is_titled_with_the_kakao_bodys_subject(client: Client, app: Litestar) -> None:
    app.state.runtime.emulators["nhn_kakao"].outcomes[PHONE] = "3018"
    await post(client, SEED_BODY | {"subject": "지금 가장 핫한 프로젝트"})

    await settle(app)
    await settle(app)

    [request] = app.state.runtime.emulators["nhn_sms"].json_bodies()
    assert request["title"] == "지금 가장 핫한 프로젝트"


async def test_a_long_kakao_message_falls_back_to_an_lms_trimmed_to_2000_bytes(client: Client, app: Litestar) -> None:
    app.state.runtime.emulators["nhn_kakao"].outcomes[PHONE] = "3019"
    body = SEED_BODY | {"content": "가나다라마바사아자차카타파하 🎉\n" * 70}
    kakao_id = await post(client, body)

    await settle(app)
    await settle(app)
    lms = await detail(client, (await detail(client, kakao_id))["message"]["childId"])

    [request] = app.state.runtime.emulators["nhn_sms"].json_bodies()
    assert lms["message"]["status"] == "delivered"
    assert cp949_bytes(request["body"]) <= MAX_BODY_BYTES
    assert not _EMOJI.search(request["body"])
    assert any("trimmed" in note for note in lms["normalised"]["notes"])


async def test_the_lms_of_a_fallback_never_falls_back_again(client: Client, app: Litestar) -> None:
    app.state.runtime.emulators["nhn_kakao"].outcomes[PHONE] = "3018"
    app.state.runtime.emulators["nhn_sms"].outcomes[PHONE] = "3018"
    kakao_id = await post(client, SEED_BODY)

    await settle(app)
    await settle(app)
    kakao = await detail(client, kakao_id)
    lms = await detail(client, kakao["message"]["childId"])

    assert lms["message"]["status"] == "failed"
    assert lms["message"]["childId"] is None
    assert await app.state.dispatcher.run_once() == 0


async def test_replaying_a_message_that_fell_back_sends_its_lms_again_and_keeps_the_fallback(
    client: Client, app: Litestar
) -> None:
    app.state.runtime.emulators["nhn_kakao"].outcomes[PHONE] = "3018"
    kakao_id = await post(client, SEED_BODY)
    await settle(app)
    await settle(app)
    lms_id = (await detail(client, kakao_id))["message"]["childId"]

    replay = await client.post(f"/v1/admin/messages/{kakao_id}/replay", headers=staff_headers(OPERATOR_TOKEN))
    await settle(app)
    await settle(app)
    kakao, lms = await detail(client, kakao_id), await detail(client, lms_id)

    assert replay.json() == {"messageId": lms_id, "status": "queued"}
    assert kakao["message"]["status"] == "fallback"
    assert [e["status"] for e in kakao["timeline"]] == ["queued", "accepted", "fallback"]
    assert len(app.state.runtime.emulators["nhn_kakao"].requests) == 1
    assert len(app.state.runtime.emulators["nhn_sms"].requests) == 2
    assert lms["message"]["status"] == "delivered"
    statuses = [(e["status"], e["reason"]) for e in lms["timeline"]][3:]
    assert statuses[0] == ("queued", "replayed by bo")
    assert [status for status, _ in statuses[1:]] == ["accepted", "delivered"]


async def test_a_kakao_message_without_fallback_fails_with_the_vendor_code(client: Client, app: Litestar) -> None:
    app.state.runtime.emulators["nhn_kakao"].outcomes[PHONE] = "3019"
    message_id = await post(client, SEED_BODY | {"fallback": "none"})

    await settle(app)
    shown = await detail(client, message_id)

    assert shown["message"]["status"] == "failed"
    assert shown["timeline"][-1]["reason"] == "failed: nhn 3019 not a KakaoTalk user"
    assert shown["message"]["childId"] is None


async def test_solapi_reports_end_an_lms_delivered(client: Client, app: Litestar) -> None:
    message_id = await post(
        client, {"channel": "lms", "userId": "u-1", "phone": PHONE, "content": "안녕하세요"} | {"vendor": "solapi"}
    )

    await settle(app)
    shown = await detail(client, message_id)

    assert shown["message"]["status"] == "delivered"
    assert [(r["vendor"], r["code"]) for r in shown["receipts"]] == [("solapi", "4000")]


async def test_sendgrid_events_end_an_email_delivered_with_the_processed_event_as_progress(
    client: Client, app: Litestar
) -> None:
    message_id = await post(client, EMAIL_BODY)

    await settle(app)
    shown = await detail(client, message_id)

    assert shown["message"]["status"] == "delivered"
    assert [(r["code"], r["state"]) for r in shown["receipts"]] == [("processed", "progress"), ("delivered", "applied")]
    assert [e["status"] for e in shown["timeline"]] == ["queued", "accepted", "accepted", "delivered"]


async def test_nhn_emails_are_polled_until_their_result_is_known(client: Client, app: Litestar, clock: Clock) -> None:
    message_id = await post(client, EMAIL_BODY | {"vendor": "nhn"})
    await app.state.dispatcher.run_once()
    poller = app.state.dispatcher.duty(ResultPoller)

    assert await poller.run_once() == 0  # not yet: the first poll waits one interval
    clock.advance(60)
    assert await poller.run_once() == 1
    await app.state.dispatcher.duty(ReceiptApplier).run_once()
    clock.advance(60)

    assert (await detail(client, message_id))["message"]["status"] == "delivered"
    assert await poller.run_once() == 0


async def test_an_accepted_message_without_a_receipt_ends_unknown_after_a_day(
    client: Client, app: Litestar, clock: Clock
) -> None:
    message_id = await post(client, SEED_BODY)
    await app.state.dispatcher.run_once()
    sweep = app.state.dispatcher.duty(ReceiptSweep)

    clock.advance(86399)
    assert await sweep.run_once() == 0
    clock.advance(2)
    assert await sweep.run_once() == 1
    shown = await detail(client, message_id)

    assert shown["message"]["status"] == "unknown"
    assert shown["timeline"][-1]["reason"] == "no delivery receipt within 24 h of acceptance: final state unknown"
    # The receipt that comes after all is kept and shown, and changes nothing.
    await app.state.dispatcher.duty(SandboxCallbacks).run_once()
    await app.state.dispatcher.duty(ReceiptApplier).run_once()
    shown = await detail(client, message_id)
    assert shown["message"]["status"] == "unknown"
    assert [r["state"] for r in shown["receipts"]] == ["late"]


async def test_final_states_reach_braze_as_batched_events_once_each(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, GATEWAY_BRAZE_REST_URL=BRAZE, GATEWAY_BRAZE_API_KEY="braze-key")
    app = create_app(settings, clock=Clock(), start_dispatcher=False)
    with respx.mock(assert_all_called=False) as braze:
        track = braze.post(f"{BRAZE}/users/track").mock(return_value=httpx.Response(201, json={"message": "success"}))
        async with AsyncTestClient(app) as client:
            app.state.runtime.emulators["nhn_kakao"].outcomes["01099990000"] = "3018"
            delivered = [await post(client, SEED_BODY | {"dispatchId": f"d-{n}"}) for n in range(3)]
            fell_back = await post(client, SEED_BODY | {"phone": "010-9999-0000", "userId": "u-2"})
            await settle(app)
            reporter = app.state.dispatcher.duty(BrazeReporter)
            assert await reporter.run_once() == 4
            assert await reporter.run_once() == 0

    [call] = track.calls
    assert call.request.headers["Authorization"] == "Bearer braze-key"
    events = {
        e["properties"]["message_id"]: e for e in httpx.Response(200, content=call.request.content).json()["events"]
    }
    assert {m: events[m]["name"] for m in delivered} == dict.fromkeys(delivered, "gateway_message_delivered")
    assert events[fell_back]["name"] == "gateway_message_fallback"
    assert events[fell_back]["external_id"] == "u-2"
    assert events[fell_back]["properties"]["vendor_code"] == "3018"
    assert events[delivered[0]]["properties"]["campaign_id"] == "c1a2b3"
    # No phone number in any form (a bare "010" also turns up in random hex message ids).
    sent = call.request.content.decode()
    assert not any(phone in sent for phone in ("01012345678", "010-1234-5678", "01099990000", "010-9999-0000"))


async def test_sandbox_outcomes_from_the_environment_show_a_fallback(tmp_path: Path, clock: Clock) -> None:
    settings = make_settings(tmp_path, GATEWAY_SANDBOX_OUTCOMES="nhn_kakao:010-1234-5678=3018")
    app = create_app(settings, clock=clock, start_dispatcher=False)
    async with AsyncTestClient(app) as client:
        kakao_id = await post(client, SEED_BODY)

        await settle(app)
        await settle(app)

        kakao = await detail(client, kakao_id)
        lms = await detail(client, kakao["message"]["childId"])
        assert (kakao["message"]["status"], lms["message"]["status"]) == ("fallback", "delivered")
