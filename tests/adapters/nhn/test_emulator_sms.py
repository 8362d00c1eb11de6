from __future__ import annotations

from typing import Any

import httpx
import msgspec
import pytest

from adapters.emulator import EmulatorTransport, Fault
from adapters.nhn.config import NhnSmsConfig
from adapters.nhn.emulator_sms import NhnSmsEmulator

CONFIG = NhnSmsConfig(appkey="sms-appkey", secret="sms-secret", send_no="15446859")
BASE = "https://sms.api.nhncloudservice.com/sms/v3.0/appKeys/sms-appkey/sender"
HEADERS = {"Content-Type": "application/json;charset=UTF-8", "X-Secret-Key": "sms-secret"}
AD_TEXT = "(광고)와디즈\n헤어케어 카테고리 베스트를 확인해 보세요.\n무료거부 0801234567"


def body(**changes: Any) -> dict[str, Any]:
    return {
        "title": "실시간 베스트",
        "body": AD_TEXT,
        "sendNo": "15446859",
        "recipientList": [{"recipientNo": "01012345678", "recipientGroupingKey": "gw-1"}],
    } | changes


async def post(
    emulator: NhnSmsEmulator, payload: Any, *, path: str = "ad-mms", headers: dict[str, str] | None = None
) -> httpx.Response:
    content = payload if isinstance(payload, bytes) else msgspec.json.encode(payload)
    async with httpx.AsyncClient(transport=EmulatorTransport([emulator])) as client:
        return await client.post(f"{BASE}/{path}", content=content, headers=HEADERS if headers is None else headers)


def header(response: httpx.Response) -> tuple[int, str, bool]:
    answer = response.json()["header"]
    return answer["resultCode"], answer["resultMessage"], answer["isSuccessful"]


async def test_accepted_send_answers_with_nhns_success_shape() -> None:
    response = await post(NhnSmsEmulator(CONFIG), body())

    assert response.status_code == 200
    answer = response.json()
    assert answer["header"] == {"isSuccessful": True, "resultCode": 0, "resultMessage": "SUCCESS"}
    data = answer["body"]["data"]
    assert data["statusCode"] == "2"
    assert len(data["requestId"]) == 25
    assert data["sendResultList"] == [
        {
            "recipientNo": "01012345678",
            "resultCode": 0,
            "resultMessage": "SUCCESS",
            "recipientSeq": 1,
            "recipientGroupingKey": "gw-1",
        }
    ]


@pytest.mark.parametrize(
    "text",
    [
        AD_TEXT,
        "(광고)와디즈\n본문\n[무료 수신거부]080-123-4567",
        "(광고) 와디즈\n본문\n무료수신거부 0801234567\n",
        "(광고)와디즈 본문\n[무료 수신 거부]0808880327",
    ],
)
async def test_ad_text_with_the_legal_opening_and_opt_out_line_is_accepted(text: str) -> None:
    assert header(await post(NhnSmsEmulator(CONFIG), body(body=text)))[0] == 0


@pytest.mark.parametrize(
    "text",
    [
        "와디즈\n본문\n무료거부 0801234567",
        "(광고)와디즈\n본문",
        "(광고)와디즈\n무료거부 0801234567\n본문이 뒤에 있음",
        "(광고)와디즈\n무료거부 1588-1234",
    ],
)
async def test_ad_mms_without_the_legal_texts_is_refused_with_6003(text: str) -> None:
    assert header(await post(NhnSmsEmulator(CONFIG), body(body=text))) == (
        -6003,
        "The body must contain block guide ment.",
        False,
    )


async def test_plain_mms_needs_no_advertising_texts() -> None:
    response = await post(NhnSmsEmulator(CONFIG), body(body="주문하신 상품이 발송되었습니다."), path="mms")

    assert header(response)[0] == 0


async def test_title_and_body_at_their_byte_limits_are_accepted() -> None:
    payload = body(title="가" * 20, body="가" * 1000)

    assert header(await post(NhnSmsEmulator(CONFIG), payload, path="mms"))[0] == 0


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"title": "가" * 20 + "a"}, -2015),
        ({"body": "가" * 1000 + "a"}, -2015),
        ({"body": AD_TEXT.replace("와디즈", "와디즈🎉")}, -2023),
        ({"title": "베스트✨"}, -2023),
        ({"title": ""}, -2014),
        ({"body": None}, -2014),
        ({"sendNo": "0212345678"}, -2312),
        ({"sendNo": None}, -2312),
        ({"recipientList": []}, -2001),
        ({"recipientList": [{"recipientNo": "01012345678"}] * 1001}, -2016),
        ({"recipientList": [{"recipientGroupingKey": "gw-1"}]}, -2018),
        ({"recipientList": [{"recipientNo": "0212345678"}]}, -2019),
    ],
)
async def test_invalid_sends_get_nhns_code(changes: dict[str, Any], code: int) -> None:
    response = await post(NhnSmsEmulator(CONFIG), body(**changes))

    assert response.status_code == 200
    assert header(response)[0] == code
    assert header(response)[2] is False


async def test_cp949_counts_a_rare_syllable_as_two_bytes() -> None:
    # Python's euc_kr takes '똠' as 8 bytes; CP949 carries it in 2, as the carriers do.
    assert header(await post(NhnSmsEmulator(CONFIG), body(title="똠" * 20), path="mms"))[0] == 0


@pytest.mark.parametrize(
    ("path", "headers", "code"),
    [
        ("ad-mms", HEADERS | {"X-Secret-Key": "wrong"}, -1000),
        ("ad-mms", {"Content-Type": "application/json"}, -1000),
        ("ad-mms", HEADERS | {"Content-Type": "text/plain"}, -9996),
    ],
)
async def test_credentials_and_content_type_are_checked(path: str, headers: dict[str, str], code: int) -> None:
    assert header(await post(NhnSmsEmulator(CONFIG), body(), path=path, headers=headers))[0] == code


async def test_wrong_app_key_is_refused() -> None:
    emulator = NhnSmsEmulator(CONFIG)
    async with httpx.AsyncClient(transport=EmulatorTransport([emulator])) as client:
        response = await client.post(
            BASE.replace("sms-appkey", "other") + "/mms", content=msgspec.json.encode(body()), headers=HEADERS
        )

    assert header(response) == (-1000, "Invalid appKey.", False)


async def test_unreadable_body_and_unknown_api() -> None:
    emulator = NhnSmsEmulator(CONFIG)

    assert header(await post(emulator, b"{"))[0] == -9997
    unknown = await post(emulator, body(), path="sms-mass")
    assert unknown.status_code == 404
    assert header(unknown)[0] == -9998


async def test_callbacks_carry_the_carrier_result_once() -> None:
    emulator = NhnSmsEmulator(CONFIG, outcomes={"01099998888": "3001"})
    recipients = [
        {"recipientNo": "01012345678", "recipientGroupingKey": "gw-1"},
        {"recipientNo": "01099998888", "recipientGroupingKey": "gw-2"},
    ]
    request_id = (await post(emulator, body(recipientList=recipients))).json()["body"]["data"]["requestId"]

    [callback] = emulator.pending_callbacks(signature="static-sig")

    assert callback.path == "nhn"
    assert callback.headers["X-Toast-Webhook-Signature"] == "static-sig"
    envelope = msgspec.json.decode(callback.body)
    assert (envelope["productName"], envelope["event"]) == ("SMS", "MESSAGE_RESULT_UPDATE")
    hooks = envelope["hooks"]
    assert [(h["recipientGroupingKey"], h["messageStatus"], h["resultCode"]) for h in hooks] == [
        ("gw-1", "COMPLETED", "1000"),
        ("gw-2", "FAILED", "3001"),
    ]
    assert {h["requestId"] for h in hooks} == {request_id}
    assert {h["senderType"] for h in hooks} == {"AD_MMS"}
    assert hooks[0]["_links"]["self"]["href"].endswith(f"/{request_id}?recipientSeq=1")
    assert emulator.pending_callbacks(signature="static-sig") == []


async def test_reset_forgets_pending_callbacks() -> None:
    emulator = NhnSmsEmulator(CONFIG)
    await post(emulator, body())

    emulator.reset()

    assert emulator.pending_callbacks(signature="s") == []


async def test_trim_forgets_requests_and_sent_records_but_keeps_the_callbacks_owed() -> None:
    emulator = NhnSmsEmulator(CONFIG)
    await post(emulator, body())

    emulator.trim()

    assert (len(emulator.requests), len(emulator.sent)) == (0, 0)
    assert len(emulator.pending_callbacks(signature="s")) == 1


async def test_scripted_vendor_code_answers_with_nhns_message() -> None:
    emulator = NhnSmsEmulator(CONFIG)
    emulator.script(Fault(vendor_code="-2021"), Fault(http_status=500))

    queued = await post(emulator, body())
    failed = await post(emulator, body())

    assert (queued.status_code, header(queued)) == (200, (-2021, "System error. Failed insert queue.", False))
    assert failed.status_code == 500
    assert header(failed)[0] == -9999


async def test_uncollected_callbacks_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("adapters.nhn.emulator_sms.MAX_PENDING", 1)
    emulator = NhnSmsEmulator(CONFIG)
    for key in ("gw-1", "gw-2"):
        await post(emulator, body(recipientList=[{"recipientNo": "01012345678", "recipientGroupingKey": key}]))

    [callback] = emulator.pending_callbacks(signature="s")

    assert [h["recipientGroupingKey"] for h in msgspec.json.decode(callback.body)["hooks"]] == ["gw-2"]
