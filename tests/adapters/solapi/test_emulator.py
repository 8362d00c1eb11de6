from __future__ import annotations

from typing import Any

import httpx
import msgspec
import pytest

from adapters.emulator import EmulatorTransport, Fault
from adapters.solapi.adapter import authorization, iso_date
from adapters.solapi.config import SolapiConfig
from adapters.solapi.emulator import SolapiEmulator

CONFIG = SolapiConfig(api_key="KEY123", api_secret="secret", pf_id="KA01PF2506", send_no="0212345678")
NOW = 1_750_000_000.0
URL = "https://api.solapi.com/messages/v4/send-many/detail"


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def emulator(clock: Clock) -> SolapiEmulator:
    return SolapiEmulator(CONFIG, clock=clock)


def auth(*, key: str = "KEY123", secret: str | None = None, at: float = NOW, salt: str = "salt-0123456789") -> str:
    return authorization(key, secret or CONFIG.api_secret, iso_date(at), salt)


def lms_entry(**changes: Any) -> dict[str, Any]:
    entry = {
        "to": "01012345678",
        "from": "0212345678",
        "type": "LMS",
        "subject": "제목",
        "text": "본문",
        "customFields": {"gatewayId": "gw-1"},
    }
    return {**entry, **changes}


def bms_entry(**bms_changes: Any) -> dict[str, Any]:
    bms = {
        "targeting": "I",
        "chatBubbleType": "TEXT",
        "adult": False,
        "buttons": [{"linkType": "WL", "name": "보기", "linkMobile": "https://m.x.kr", "linkPc": "https://x.kr"}],
    }
    return {
        "to": "01012345678",
        "from": "0212345678",
        "type": "BMS_FREE",
        "text": "안녕하세요 ✨",
        "customFields": {"gatewayId": "gw-2"},
        "kakaoOptions": {"pfId": "KA01PF2506", "bms": {**bms, **bms_changes}},
    }


async def post(
    emulator: SolapiEmulator,
    *entries: dict[str, Any],
    authorization_header: str | None = None,
    url: str = URL,
    content: bytes | None = None,
) -> httpx.Response:
    headers = {"Authorization": authorization_header or auth(salt=f"salt-{len(emulator.requests):012d}")}
    body = content if content is not None else msgspec.json.encode({"messages": list(entries), "showMessageList": True})
    async with httpx.AsyncClient(transport=EmulatorTransport([emulator])) as client:
        return await client.post(url, content=body, headers=headers)


async def test_accepts_a_valid_lms_with_solapi_success_shape(emulator: SolapiEmulator) -> None:
    response = await post(emulator, lms_entry())

    assert response.status_code == 200
    body = response.json()
    assert body["failedMessageList"] == []
    group = body["groupInfo"]
    assert group["groupId"] == group["_id"]
    assert group["groupId"].startswith("G4V")
    assert group["count"]["total"] == 1
    assert group["count"]["registeredSuccess"] == 1
    (listed,) = body["messageList"]
    assert listed["messageId"].startswith("M4V")
    assert listed["statusCode"] == "2000"
    assert listed["customFields"] == {"gatewayId": "gw-1"}


async def test_message_list_only_when_asked(emulator: SolapiEmulator) -> None:
    content = msgspec.json.encode({"messages": [lms_entry()]})

    response = await post(emulator, content=content)

    assert "messageList" not in response.json()


async def test_accepts_a_valid_bms_free(emulator: SolapiEmulator) -> None:
    response = await post(emulator, bms_entry())

    assert response.json()["failedMessageList"] == []


@pytest.mark.parametrize(
    ("header", "code"),
    [
        ("", "InvalidAPIKey"),
        ("Bearer KEY123", "InvalidAPIKey"),
        (auth(key="OTHER"), "InvalidAPIKey"),
        (auth(secret="wrong"), "SignatureDoesNotMatch"),
        (auth(at=NOW - 16 * 60), "RequestTimeTooSkewed"),
        (auth(at=NOW + 16 * 60), "RequestTimeTooSkewed"),
    ],
)
async def test_signature_checks_answer_403(emulator: SolapiEmulator, header: str, code: str) -> None:
    async with httpx.AsyncClient(transport=EmulatorTransport([emulator])) as client:
        headers = {"Authorization": header} if header else {}
        response = await client.post(URL, json={"messages": [lms_entry()]}, headers=headers)

    assert response.status_code == 403
    assert response.json()["errorCode"] == code
    assert response.json()["errorMessage"]


async def test_a_date_within_fifteen_minutes_passes(emulator: SolapiEmulator) -> None:
    response = await post(emulator, lms_entry(), authorization_header=auth(at=NOW - 14 * 60))

    assert response.status_code == 200


async def test_sdk_style_capitalised_names_pass(emulator: SolapiEmulator) -> None:
    header = auth().replace("apiKey=", "ApiKey=").replace("date=", "Date=")

    response = await post(emulator, lms_entry(), authorization_header=header)

    assert response.status_code == 200


async def test_a_signature_is_refused_the_second_time_within_fifteen_minutes(
    emulator: SolapiEmulator, clock: Clock
) -> None:
    header = auth()
    first = await post(emulator, lms_entry(), authorization_header=header)
    clock.now += 60
    second = await post(emulator, lms_entry(), authorization_header=header)

    assert first.status_code == 200
    assert second.status_code == 403
    assert second.json()["errorCode"] == "DuplicatedSignature"


async def test_used_signatures_are_forgotten_after_the_window(emulator: SolapiEmulator, clock: Clock) -> None:
    await post(emulator, lms_entry(), authorization_header=auth(at=NOW))
    clock.now += 16 * 60
    other = await post(emulator, lms_entry(), authorization_header=auth(at=clock.now, salt="another-salt-1"))

    assert other.status_code == 200
    assert len(emulator._signatures) == 1


@pytest.mark.parametrize(
    ("entry", "code"),
    [
        (lms_entry(to=""), "1010"),
        ({k: v for k, v in lms_entry().items() if k != "text"}, "1010"),
        (lms_entry(to="010-1234-5678"), "1011"),
        (lms_entry(**{"from": "0299999999"}), "1062"),
        (lms_entry(customFields={"gatewayId": "x" * 101}), "1032"),
        (lms_entry(type="FAX2"), "1025"),
        (lms_entry(text="이모지 🎉"), "1029"),
        (lms_entry(subject="가" * 21), "1014"),
        (lms_entry(text="가" * 1001), "1031"),
        ({**bms_entry(), "kakaoOptions": {"pfId": "KA01OTHER", "bms": {"targeting": "I"}}}, "1041"),
        (bms_entry(targeting="X"), "1011"),
        (bms_entry(chatBubbleType="IMAGE"), "1034"),
        ({**bms_entry(), "text": "가" * 1301}, "1031"),
        ({**bms_entry(), "text": "\n" * 100 + "x"}, "1031"),
        (bms_entry(buttons=[{"linkType": "WL", "name": "b", "linkMobile": "https://x.kr"}] * 6), "1050"),
        (bms_entry(buttons=[{"linkType": "WL", "name": "가" * 15, "linkMobile": "https://x.kr"}]), "1049"),
        (bms_entry(buttons=[{"linkType": "XX", "name": "b"}]), "1044"),
        (bms_entry(buttons=[{"linkType": "WL", "name": "b", "linkMobile": "x.kr"}]), "1045"),
        (
            bms_entry(buttons=[{"linkType": "WL", "name": "b", "linkMobile": "https://x.kr", "linkPc": "ftp://x"}]),
            "1045",
        ),
    ],
)
async def test_refused_messages_come_back_in_failed_message_list(
    emulator: SolapiEmulator, entry: dict[str, Any], code: str
) -> None:
    response = await post(emulator, entry)

    assert response.status_code == 200
    body = response.json()
    (failed,) = body["failedMessageList"]
    assert failed["statusCode"] == code
    assert failed["statusMessage"]
    assert set(failed) >= {"to", "from", "type", "country", "messageId", "accountId", "customFields"}
    assert body["groupInfo"]["count"]["registeredFailed"] == 1
    assert body["messageList"] == []
    assert emulator.pending_callbacks() == []


async def test_a_batch_mixes_accepted_and_refused(emulator: SolapiEmulator) -> None:
    response = await post(emulator, lms_entry(), lms_entry(text="🎉"))

    body = response.json()
    assert len(body["messageList"]) == 1
    assert [f["statusCode"] for f in body["failedMessageList"]] == ["1029"]


async def test_unknown_path_is_404(emulator: SolapiEmulator) -> None:
    response = await post(emulator, lms_entry(), url="https://api.solapi.com/messages/v4/send")

    assert response.status_code == 404
    assert response.json()["errorCode"] == "NotFound"


@pytest.mark.parametrize("content", [b"{not json", b'{"messages": []}', b'{"messages": "x"}'])
async def test_malformed_body_is_a_validation_error(emulator: SolapiEmulator, content: bytes) -> None:
    response = await post(emulator, content=content)

    assert response.status_code == 400
    assert response.json()["errorCode"] == "ValidationError"


@pytest.mark.parametrize(
    ("fault", "status", "code"),
    [
        (Fault(http_status=429, retry_after=7), 429, "TooManyRequests"),
        (Fault(http_status=500), 500, "InternalError"),
        (Fault(http_status=503), 503, "ServiceUnavailable"),
        (Fault(vendor_code="InvalidAPIKey"), 403, "InvalidAPIKey"),
    ],
)
async def test_scripted_http_errors_use_solapi_error_shape(
    emulator: SolapiEmulator, fault: Fault, status: int, code: str
) -> None:
    emulator.script(fault)

    response = await post(emulator, lms_entry())

    assert response.status_code == status
    assert response.json()["errorCode"] == code
    if fault.retry_after:
        assert response.headers["Retry-After"] == "7"


async def test_scripted_status_code_refuses_every_message_with_200(emulator: SolapiEmulator) -> None:
    emulator.script(Fault(vendor_code="1030"))

    response = await post(emulator, lms_entry(), lms_entry())

    assert response.status_code == 200
    assert [f["statusCode"] for f in response.json()["failedMessageList"]] == ["1030", "1030"]
    assert response.json()["failedMessageList"][0]["statusMessage"] == "잔액 부족"


async def test_callbacks_report_each_accepted_message_once(emulator: SolapiEmulator) -> None:
    emulator.outcomes["01099998888"] = "3102"
    await post(emulator, lms_entry(), bms_entry() | {"to": "01099998888"})

    (callback,) = emulator.pending_callbacks()

    assert callback.path == "solapi"
    assert callback.headers == {"Content-Type": "application/json"}
    reports = msgspec.json.decode(callback.body)
    assert [r["data"]["statusCode"] for r in reports] == ["4000", "3102"]
    assert [r["data"]["customFields"] for r in reports] == [{"gatewayId": "gw-1"}, {"gatewayId": "gw-2"}]
    assert {"eventDataId", "retryCount", "data"} == set(reports[0])
    assert set(reports[0]["data"]) == {
        "messageId",
        "groupId",
        "type",
        "to",
        "from",
        "statusCode",
        "statusMessage",
        "dateProcessed",
        "dateReported",
        "dateReceived",
        "customFields",
        "kakaoOptions",
    }
    assert reports[1]["data"]["dateReceived"] is None
    assert emulator.pending_callbacks() == []


async def test_reset_forgets_pending_reports(emulator: SolapiEmulator) -> None:
    await post(emulator, lms_entry())

    emulator.reset()

    assert emulator.pending_callbacks() == []
    assert not emulator.requests
