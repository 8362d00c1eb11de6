from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import msgspec
import pytest

from adapters.emulator import EmulatorTransport, Fault
from adapters.nhn.config import NhnKakaoConfig
from adapters.nhn.emulator_kakao import NhnKakaoEmulator

CONFIG = NhnKakaoConfig(appkey="kakao-appkey", secret="kakao-secret", sender_key="f" * 40)
URL = "https://kakaotalk-bizmessage.api.nhncloudservice.com/brand-message/v1.0/appkeys/kakao-appkey/freestyle-messages"
HEADERS = {"Content-Type": "application/json;charset=UTF-8", "X-Secret-Key": "kakao-secret"}
LINK = "https://www.wadiz.kr/web/campaign/detail/356850"


def body(**changes: Any) -> dict[str, Any]:
    return {
        "senderKey": "f" * 40,
        "chatBubbleType": "TEXT",
        "pushAlarm": True,
        "adult": False,
        "content": "서포터님,\n지금 가장 핫한 프로젝트는?✨",
        "buttons": [{"name": "지금 확인하기", "type": "WL", "linkMo": LINK, "linkPc": LINK}],
        "recipientList": [{"recipientNo": "01012345678", "targeting": "I", "recipientGroupingKey": "gw-1"}],
    } | changes


async def post(
    emulator: NhnKakaoEmulator,
    payload: Any,
    *,
    url: str = URL,
    headers: dict[str, str] | None = None,
    method: str = "POST",
) -> httpx.Response:
    content = payload if isinstance(payload, bytes) else msgspec.json.encode(payload)
    async with httpx.AsyncClient(transport=EmulatorTransport([emulator])) as client:
        return await client.request(method, url, content=content, headers=HEADERS if headers is None else headers)


def header(response: httpx.Response) -> tuple[int, bool]:
    answer = response.json()["header"]
    return answer["resultCode"], answer["isSuccessful"]


async def test_accepted_send_answers_with_nhns_success_shape() -> None:
    response = await post(NhnKakaoEmulator(CONFIG), body())

    assert response.status_code == 200
    answer = response.json()
    assert answer["header"] == {"resultCode": 0, "resultMessage": "SUCCESS", "isSuccessful": True}
    assert re.fullmatch(r"\d{14}[A-Za-z0-9]{10}0", answer["message"]["requestId"])
    # The brand message answer documents no grouping key per recipient: its place and number name it.
    assert answer["message"]["sendResults"] == [
        {"recipientSeq": 1, "recipientNo": "01012345678", "resultCode": 0, "resultMessage": "SUCCESS"}
    ]


async def test_content_buttons_and_names_at_their_limits_are_accepted() -> None:
    buttons = [{"name": "가" * 14, "type": "WL", "linkMo": LINK} for _ in range(5)]
    payload = body(content="가" * 1201 + "\n" * 99, buttons=buttons)

    assert header(await post(NhnKakaoEmulator(CONFIG), payload)) == (0, True)


def change(**fields: Any) -> Callable[[], dict[str, Any]]:
    return lambda: body(**fields)


def without(field: str) -> Callable[[], dict[str, Any]]:
    return lambda: {k: v for k, v in body().items() if k != field}


def image(**fields: Any) -> Callable[[], dict[str, Any]]:
    return change(chatBubbleType="IMAGE", image={"imageUrl": "https://img.example/a.jpg"} | fields)


def button(**fields: Any) -> Callable[[], dict[str, Any]]:
    return change(buttons=[{"name": "보기", "type": "WL", "linkMo": LINK} | fields])


def recipient(**fields: Any) -> Callable[[], dict[str, Any]]:
    return change(recipientList=[{"recipientNo": "01012345678", "targeting": "I"} | fields])


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (without("senderKey"), -2001),
        (change(senderKey="g" * 40), -2017),
        (without("chatBubbleType"), -2001),
        (change(chatBubbleType="WIDE"), -3305),
        (without("content"), -2001),
        (change(content="가" * 1301), -2000),
        (change(content="가\n" * 100), -2000),
        (change(pushAlarm="true"), -9994),
        (change(image={"imageUrl": "https://img.example/a.jpg"}), -3305),
        (change(chatBubbleType="IMAGE"), -3319),
        (image(imageUrl="ftp://img.example/a.jpg"), -3326),
        (image(imageLink="www.wadiz.kr"), -3327),
        (lambda: image()() | {"content": "가" * 1301}, -2000),
        (lambda: image()() | {"content": "가\n" * 100}, -2000),
        (change(buttons=[{"name": "b", "type": "WL", "linkMo": LINK}] * 6), -2000),
        (button(name=""), -3009),
        (button(name="가" * 15), -2000),
        (button(type="AL"), -3328),
        (button(linkMo=None), -3307),
        (button(linkPc="www.wadiz.kr/pc"), -3310),
        (button(linkMo="https://a.example/" + "a" * 1000), -3310),
        (without("recipientList"), -4011),
        (change(recipientList=[]), -4011),
        (change(recipientList=[{"recipientNo": "01012345678"}] * 1001), -2000),
        (recipient(recipientNo="0212345678"), -4019),
        (recipient(recipientNo=None), -4019),
        (recipient(targeting="X"), -3298),
        (recipient(targeting="M"), -4029),
        (recipient(recipientGroupingKey="k" * 101), -2000),
    ],
)
async def test_invalid_sends_get_nhns_code_with_http_200(make: Callable[[], dict[str, Any]], code: int) -> None:
    response = await post(NhnKakaoEmulator(CONFIG), make())

    assert response.status_code == 200
    assert header(response) == (code, False)


@pytest.mark.parametrize(
    ("url", "headers", "code"),
    [
        (URL.replace("kakao-appkey", "other"), HEADERS, -1000),
        (URL, {"Content-Type": "application/json"}, -1001),
        (URL, HEADERS | {"X-Secret-Key": "wrong"}, -1001),
        (URL, HEADERS | {"Content-Type": "text/plain"}, -9996),
    ],
)
async def test_credentials_and_content_type_are_checked(url: str, headers: dict[str, str], code: int) -> None:
    assert header(await post(NhnKakaoEmulator(CONFIG), body(), url=url, headers=headers)) == (code, False)


async def test_unreadable_body_is_refused() -> None:
    assert header(await post(NhnKakaoEmulator(CONFIG), b"{not json")) == (-3002, False)


@pytest.mark.parametrize(
    ("method", "url"), [("GET", URL), ("POST", URL.replace("freestyle-messages", "basic-messages"))]
)
async def test_unknown_apis_are_404(method: str, url: str) -> None:
    response = await post(NhnKakaoEmulator(CONFIG), body(), url=url, method=method)

    assert response.status_code == 404
    assert header(response) == (-9998, False)


async def test_same_idempotency_key_within_ten_minutes_is_refused_with_1005() -> None:
    emulator = NhnKakaoEmulator(CONFIG)
    keyed = HEADERS | {"X-NC-API-IDEMPOTENCY-KEY": "gw-1"}

    assert header(await post(emulator, body(), headers=keyed)) == (0, True)
    assert header(await post(emulator, body(), headers=keyed)) == (-1005, False)
    other = HEADERS | {"X-NC-API-IDEMPOTENCY-KEY": "gw-2"}
    assert header(await post(emulator, body(), headers=other)) == (0, True)
    # Only the two accepted sends will be reported.
    [callback] = emulator.pending_callbacks(signature="s")
    assert len(hooks_of(callback.body)[1]) == 2


async def test_a_refused_request_does_not_use_up_its_idempotency_key() -> None:
    emulator = NhnKakaoEmulator(CONFIG)
    keyed = HEADERS | {"X-NC-API-IDEMPOTENCY-KEY": "gw-1"}

    assert header(await post(emulator, body(content=""), headers=keyed)) == (-2001, False)
    assert header(await post(emulator, body(), headers=keyed)) == (0, True)


async def test_idempotency_keys_expire_after_ten_minutes(monkeypatch: pytest.MonkeyPatch) -> None:
    emulator = NhnKakaoEmulator(CONFIG)
    keyed = HEADERS | {"X-NC-API-IDEMPOTENCY-KEY": "gw-1"}
    now = [1000.0]
    monkeypatch.setattr("adapters.nhn.emulator_kakao.time.monotonic", lambda: now[0])

    assert header(await post(emulator, body(), headers=keyed)) == (0, True)
    now[0] += 599
    assert header(await post(emulator, body(), headers=keyed)) == (-1005, False)
    now[0] += 2
    assert header(await post(emulator, body(), headers=keyed)) == (0, True)


def hooks_of(callback_body: bytes) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    envelope = msgspec.json.decode(callback_body)
    return envelope, envelope["hooks"]


async def test_callbacks_report_each_recipient_once_with_its_configured_kakao_code() -> None:
    emulator = NhnKakaoEmulator(CONFIG, outcomes={"01099998888": "3019"})
    recipients = [
        {"recipientNo": "01012345678", "targeting": "I", "recipientGroupingKey": "gw-1"},
        {"recipientNo": "01099998888", "targeting": "I", "recipientGroupingKey": "gw-2"},
    ]
    request_id = (await post(emulator, body(recipientList=recipients))).json()["message"]["requestId"]

    [callback] = emulator.pending_callbacks(signature="static-sig")

    assert callback.path == "nhn"
    assert callback.headers == {
        "Content-Type": "application/json;charset=UTF-8",
        "X-Toast-Webhook-Signature": "static-sig",
    }
    envelope, hooks = hooks_of(callback.body)
    assert (envelope["productName"], envelope["event"], envelope["appKey"]) == (
        "KakaoTalk Bizmessage",
        "MESSAGE_RESULT_UPDATE",
        "kakao-appkey",
    )
    assert [(h["recipientGroupingKey"], h["resultCode"], h["isAddedChannel"]) for h in hooks] == [
        ("gw-1", "1000", True),
        ("gw-2", "3019", False),
    ]
    assert {h["requestId"] for h in hooks} == {request_id}
    assert [h["recipientSeq"] for h in hooks] == [1, 2]
    assert len({h["hookId"] for h in hooks}) == 2
    assert emulator.pending_callbacks(signature="static-sig") == []


def resending(**resend: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"recipientNo": "01012345678", "targeting": "I", "recipientGroupingKey": "gw-1"}
    return entry | ({"resendParameter": resend} if resend else {})


@pytest.mark.parametrize(
    ("console_resend", "resend", "resent"),
    [
        (True, {}, ["01012345678"]),
        (True, {"isResend": False}, []),
        (True, {"isResend": True}, ["01012345678"]),
        (False, {}, []),
    ],
)
async def test_nhn_falls_back_by_the_recipient_s_resend_parameter_else_by_the_console_default(
    console_resend: bool, resend: dict[str, bool], resent: list[str]
) -> None:
    emulator = NhnKakaoEmulator(CONFIG, outcomes={"01012345678": "3019"}, console_resend=console_resend)
    assert header(await post(emulator, body(recipientList=[resending(**resend)]))) == (0, True)

    emulator.pending_callbacks()

    assert emulator.resent == resent


async def test_asking_nhn_to_fall_back_without_a_console_setting_is_refused_with_2502() -> None:
    emulator = NhnKakaoEmulator(CONFIG)

    assert header(await post(emulator, body(recipientList=[resending(isResend=True)]))) == (-2502, False)


async def test_outcomes_can_be_changed_after_construction() -> None:
    emulator = NhnKakaoEmulator(CONFIG)
    emulator.outcomes["01012345678"] = "3018"
    await post(emulator, body())

    [callback] = emulator.pending_callbacks(signature="s")
    assert hooks_of(callback.body)[1][0]["resultCode"] == "3018"


async def test_refused_sends_are_never_reported() -> None:
    emulator = NhnKakaoEmulator(CONFIG)
    await post(emulator, body(senderKey="wrong"))

    assert emulator.pending_callbacks(signature="s") == []


async def test_reset_forgets_pending_callbacks_and_keys() -> None:
    emulator = NhnKakaoEmulator(CONFIG)
    keyed = HEADERS | {"X-NC-API-IDEMPOTENCY-KEY": "gw-1"}
    await post(emulator, body(), headers=keyed)

    emulator.reset()

    assert emulator.pending_callbacks(signature="s") == []
    assert not emulator.requests
    assert header(await post(emulator, body(), headers=keyed)) == (0, True)


async def test_scripted_faults_answer_with_nhns_error_envelope() -> None:
    emulator = NhnKakaoEmulator(CONFIG)
    emulator.script(Fault(http_status=503, retry_after=3), Fault(vendor_code="-1005"))

    unavailable = await post(emulator, body())
    duplicate = await post(emulator, body())

    assert unavailable.status_code == 503
    assert unavailable.headers["Retry-After"] == "3"
    assert header(unavailable) == (-9999, False)
    assert duplicate.status_code == 200
    assert duplicate.json()["header"] == {
        "resultCode": -1005,
        "resultMessage": "The same 'X-NC-API-IDEMPOTENCY-KEY' was used within the last 10 minute.",
        "isSuccessful": False,
    }


async def test_emulator_answers_at_the_configured_host() -> None:
    config = NhnKakaoConfig(url="http://bizmessage.staging.test", appkey="a", secret="s", sender_key="k")
    emulator = NhnKakaoEmulator(config)
    url = "http://bizmessage.staging.test/brand-message/v1.0/appkeys/a/freestyle-messages"

    response = await post(emulator, body(senderKey="k"), url=url, headers=HEADERS | {"X-Secret-Key": "s"})

    assert emulator.host == "bizmessage.staging.test"
    assert header(response) == (0, True)


async def test_uncollected_callbacks_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("adapters.nhn.emulator_kakao.MAX_PENDING", 2)
    emulator = NhnKakaoEmulator(CONFIG)
    for key in ("gw-1", "gw-2", "gw-3"):
        recipients = [{"recipientNo": "01012345678", "targeting": "I", "recipientGroupingKey": key}]
        await post(emulator, body(recipientList=recipients))

    [callback] = emulator.pending_callbacks(signature="s")

    assert [h["recipientGroupingKey"] for h in hooks_of(callback.body)[1]] == ["gw-2", "gw-3"]
