from __future__ import annotations

import hashlib
import hmac
import re

import httpx
import msgspec
import pytest
import respx

from adapters.base import VendorResponse, send
from adapters.batch import BatchAdapter, BatchItem, send_batch
from adapters.contract import Accepted, Found, NotFound, Permanent, Retryable, Uncertain
from adapters.emulator import EmulatorTransport, Fault
from adapters.solapi.adapter import (
    SEND_PATH,
    SOLAPI_KAKAO_UNDELIVERABLE,
    SolapiKakaoAdapter,
    SolapiLmsAdapter,
    classify,
    parse_callback,
)
from adapters.solapi.config import SolapiConfig
from adapters.solapi.emulator import SolapiEmulator
from adapters.solapi.lookup import solapi_lookup
from gateway.models import Button, OutboundMessage
from tests.adapters.batching import assert_same_for_all, items, look_up_each

CONFIG = SolapiConfig(api_key="NCSAYU7YDBXYORXC", api_secret="s3cr3t", pf_id="KA01PF2506", send_no="0212345678")
NOW = 1_750_000_000.0  # 2025-06-15T15:06:40Z
SALT = "jqsba2jxjnrjor"
SPEC_CONTENT = (
    "서포터님,\n헤어케어 카테고리에서 지금 가장 핫한 프로젝트는? 지금 확인해 보세요.\n"
    "✨[14억+ 앵콜] 미용실 50배 효과?! 단백질 쇼크 LPT 헤어팩🎉"
)
LINK = "https://www.wadiz.kr/web/campaign/detail/356850"


def kakao(**changes: object) -> OutboundMessage:
    fields: dict[str, object] = {
        "channel": "kakao",
        "user_id": "u-20250610-0001",
        "phone": "01012345678",
        "content": SPEC_CONTENT,
        "buttons": (Button("지금 확인하기", LINK, LINK),),
        "ad": True,
        "fallback": "lms",
    }
    return OutboundMessage(**{**fields, **changes})  # type: ignore[arg-type]


def lms(**changes: object) -> OutboundMessage:
    fields: dict[str, object] = {
        "channel": "lms",
        "user_id": "u-1",
        "phone": "01012345678",
        "subject": "실시간 베스트",
        "content": "(광고)와디즈\n헤어케어 카테고리에서 지금 가장 핫한 프로젝트는?\n무료거부 0801234567",
        "ad": True,
    }
    return OutboundMessage(**{**fields, **changes})  # type: ignore[arg-type]


def fixed(adapter: type[SolapiKakaoAdapter] | type[SolapiLmsAdapter]) -> SolapiKakaoAdapter | SolapiLmsAdapter:
    return adapter(CONFIG, clock=lambda: NOW, salt=lambda: SALT)


def expected_authorization() -> str:
    date = "2025-06-15T15:06:40Z"
    signature = hmac.new(b"s3cr3t", (date + SALT).encode(), hashlib.sha256).hexdigest()
    return f"HMAC-SHA256 apiKey=NCSAYU7YDBXYORXC, date={date}, salt={SALT}, signature={signature}"


def test_kakao_request_matches_solapi_bms_free_shape() -> None:
    request = fixed(SolapiKakaoAdapter).build(kakao(), "gw-1")

    assert request.method == "POST"
    assert request.url == "https://api.solapi.com/messages/v4/send-many/detail"
    assert request.headers == {"Authorization": expected_authorization(), "Content-Type": "application/json"}
    assert request.secret_headers == ("Authorization",)
    assert request.json == {
        "messages": [
            {
                "to": "01012345678",
                "from": "0212345678",
                "type": "BMS_FREE",
                "text": SPEC_CONTENT,
                "customFields": {"gatewayId": "gw-1"},
                "kakaoOptions": {
                    "pfId": "KA01PF2506",
                    "bms": {
                        "targeting": "I",
                        "chatBubbleType": "TEXT",
                        "adult": False,
                        "buttons": [{"linkType": "WL", "name": "지금 확인하기", "linkMobile": LINK, "linkPc": LINK}],
                    },
                },
            }
        ],
        "showMessageList": True,
    }


def test_kakao_keeps_emoji_and_every_button_in_order() -> None:
    buttons = tuple(Button(f"버튼{i}", f"https://m.example.kr/{i}", f"https://www.example.kr/{i}") for i in range(5))
    request = fixed(SolapiKakaoAdapter).build(kakao(buttons=buttons), "gw-2")

    entry = request.json["messages"][0]
    assert "✨" in entry["text"]
    assert "🎉" in entry["text"]
    assert entry["kakaoOptions"]["bms"]["buttons"] == [
        {
            "linkType": "WL",
            "name": f"버튼{i}",
            "linkMobile": f"https://m.example.kr/{i}",
            "linkPc": f"https://www.example.kr/{i}",
        }
        for i in range(5)
    ]


def test_kakao_without_buttons_sends_no_button_list() -> None:
    request = fixed(SolapiKakaoAdapter).build(kakao(buttons=()), "gw-3")

    assert "buttons" not in request.json["messages"][0]["kakaoOptions"]["bms"]


def test_kakao_with_an_uploaded_image_is_an_image_bubble_whose_tap_opens_the_first_button() -> None:
    # The dispatcher has put Solapi's fileId where the caller's URL was (gateway/images/uploads.py).
    request = fixed(SolapiKakaoAdapter).build(kakao(image_url="ST01FZ20250615150640ABCDEFGHIJKL"), "gw-4")

    assert request.json["messages"][0]["kakaoOptions"]["bms"] == {
        "targeting": "I",
        "chatBubbleType": "IMAGE",
        "adult": False,
        "imageId": "ST01FZ20250615150640ABCDEFGHIJKL",
        "imageLink": LINK,
        "buttons": [{"linkType": "WL", "name": "지금 확인하기", "linkMobile": LINK, "linkPc": LINK}],
    }
    assert request.json["messages"][0]["text"] == SPEC_CONTENT


def test_an_image_bubble_without_buttons_has_no_image_link() -> None:
    request = fixed(SolapiKakaoAdapter).build(kakao(image_url="ST01FZ20250615150640ABCDEFGHIJKL", buttons=()), "gw-4")

    bms = request.json["messages"][0]["kakaoOptions"]["bms"]
    assert bms["chatBubbleType"] == "IMAGE"
    assert "imageLink" not in bms
    assert "buttons" not in bms


def test_ad_lms_request_matches_solapi_lms_shape() -> None:
    message = lms()
    request = fixed(SolapiLmsAdapter).build(message, "gw-5")

    assert request.url == "https://api.solapi.com/messages/v4/send-many/detail"
    assert request.headers["Authorization"] == expected_authorization()
    assert request.json == {
        "messages": [
            {
                "to": "01012345678",
                "from": "0212345678",
                "type": "LMS",
                "subject": "실시간 베스트",
                "text": message.content,
                "customFields": {"gatewayId": "gw-5"},
            }
        ],
        "showMessageList": True,
    }


def test_lms_without_subject_leaves_it_out() -> None:
    request = fixed(SolapiLmsAdapter).build(lms(subject=None), "gw-6")

    assert "subject" not in request.json["messages"][0]


def test_configured_url_is_used() -> None:
    config = SolapiConfig(url="http://solapi.test/", api_key="k", api_secret="s", pf_id="p", send_no="0212345678")

    assert SolapiLmsAdapter(config).build(lms(), "gw").url == "http://solapi.test/messages/v4/send-many/detail"


def test_each_request_is_signed_with_a_fresh_salt() -> None:
    adapter = SolapiLmsAdapter(CONFIG)
    first, second = (adapter.build(lms(), "gw").headers["Authorization"] for _ in range(2))

    salts = [re.search(r"salt=([^,]+),", header).group(1) for header in (first, second)]  # type: ignore[union-attr]
    assert first != second
    assert salts[0] != salts[1]
    assert all(12 <= len(salt) <= 64 for salt in salts)


def test_stored_copy_redacts_the_signature() -> None:
    stored = fixed(SolapiLmsAdapter).build(lms(), "gw").redacted()

    assert stored["headers"]["Authorization"] == "[redacted]"
    assert "s3cr3t" not in msgspec.json.encode(stored).decode()


@pytest.mark.parametrize("adapter", [SolapiKakaoAdapter, SolapiLmsAdapter])
def test_message_without_phone_is_refused(adapter: type[SolapiKakaoAdapter] | type[SolapiLmsAdapter]) -> None:
    message = kakao(phone=None) if adapter is SolapiKakaoAdapter else lms(phone=None)

    with pytest.raises(ValueError, match="phone"):
        adapter(CONFIG).build(message, "gw")


def sent_body(*, failed: list[dict[str, object]] | None = None, listed: bool = True) -> bytes:
    """A send-many/detail answer as Solapi's SDK types describe it."""
    body: dict[str, object] = {
        "groupInfo": {
            "_id": "G4V20250615150640ABCDEFGHIJKLMNO",
            "groupId": "G4V20250615150640ABCDEFGHIJKLMNO",
            "status": "SENDING",
            "count": {"total": 1, "registeredFailed": len(failed or []), "registeredSuccess": 1 - len(failed or [])},
        },
        "failedMessageList": failed or [],
    }
    if listed and not failed:
        body["messageList"] = [
            {
                "messageId": "M4V20250615150640ZYXWVUTSRQPONML",
                "statusCode": "2000",
                "statusMessage": "정상 접수(이통사로 접수 예정) ",
                "customFields": {"gatewayId": "gw-1"},
            }
        ]
    return msgspec.json.encode(body)


def failed_entry(code: str, message: str) -> dict[str, object]:
    return {
        "to": "01012345678",
        "from": "0212345678",
        "type": "LMS",
        "statusMessage": message,
        "country": "82",
        "messageId": "M4V20250615150640FAILEDFAILEDXX",
        "statusCode": code,
        "accountId": "25010100000000",
        "customFields": {"gatewayId": "gw-1"},
    }


def test_accepted_answer_yields_the_message_id() -> None:
    outcome = classify(VendorResponse(200, {}, sent_body()))

    assert isinstance(outcome, Accepted)
    assert outcome.vendor_message_id == "M4V20250615150640ZYXWVUTSRQPONML"
    assert outcome.code == "2000"
    assert "G4V20250615150640ABCDEFGHIJKLMNO" in outcome.detail


def test_accepted_answer_without_message_list_has_no_message_id() -> None:
    outcome = classify(VendorResponse(200, {}, sent_body(listed=False)))

    assert outcome == Accepted(None, detail="group G4V20250615150640ABCDEFGHIJKLMNO")


def test_unreadable_success_is_accepted_rather_than_sent_twice() -> None:
    outcome = classify(VendorResponse(200, {}, b"<html>ok</html>"))

    assert isinstance(outcome, Accepted)
    assert outcome.vendor_message_id is None


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("1062", "발신번호 미등록"),
        ("1029", "문자메시지의 경우 EUC-KR(완성형 한글) 범위 안에 있는 문자만 사용 합니다."),
        ("1014", "제목은 40byte까지 사용 가능합니다."),
        ("1041", "유효한 플러스 친구 값이 아닙니다."),
    ],
)
def test_refused_message_in_an_accepted_batch_is_permanent_by_its_code(code: str, message: str) -> None:
    outcome = classify(VendorResponse(200, {}, sent_body(failed=[failed_entry(code, message)])))

    assert outcome == Permanent(code, message)


@pytest.mark.parametrize(("code", "message"), [("1024", "서버 오류"), ("1030", "잔액 부족")])
def test_refused_message_with_a_try_later_code_is_retryable(code: str, message: str) -> None:
    outcome = classify(VendorResponse(200, {}, sent_body(failed=[failed_entry(code, message)])))

    assert outcome == Retryable(code, message)


def error_body(code: str, message: str) -> bytes:
    return msgspec.json.encode({"errorCode": code, "errorMessage": message})


@pytest.mark.parametrize(
    ("status", "code"),
    [(400, "ValidationError"), (403, "InvalidAPIKey"), (403, "SignatureDoesNotMatch"), (404, "NotFound")],
)
def test_client_errors_are_permanent(status: int, code: str) -> None:
    outcome = classify(VendorResponse(status, {}, error_body(code, "bad")))

    assert outcome == Permanent(code, "bad")


@pytest.mark.parametrize("code", ["DuplicatedSignature", "RequestTimeTooSkewed"])
def test_signature_errors_a_fresh_signature_fixes_are_retryable(code: str) -> None:
    outcome = classify(VendorResponse(403, {}, error_body(code, "later")))

    assert outcome == Retryable(code, "later")


def test_503_is_retried_as_solapi_s_sdk_does_honouring_retry_after() -> None:
    response = VendorResponse(503, {"retry-after": "30"}, error_body("ServiceUnavailable", "slow down"))

    assert classify(response) == Retryable("ServiceUnavailable", "slow down", retry_after=30.0)


@pytest.mark.parametrize("status", [408, 425, 429, 500, 502, 504])
def test_other_transient_statuses_may_have_sent_so_they_are_uncertain_and_never_resent(status: int) -> None:
    outcome = classify(VendorResponse(status, {"retry-after": "30"}, b"upstream trouble"))

    # Uncertain: the dispatcher asks Solapi's message list before anything is sent again.
    assert isinstance(outcome, Uncertain)
    assert f"HTTP {status}" in outcome.detail


def report(code: str, *, event_id: str = "E1", message: str = "") -> dict[str, object]:
    """One single-report webhook entry as Solapi documents it."""
    return {
        "eventDataId": event_id,
        "retryCount": 0,
        "data": {
            "messageId": "M4V20250615150640ZYXWVUTSRQPONML",
            "groupId": "G4V20250615150640ABCDEFGHIJKLMNO",
            "type": "BMS_FREE",
            "to": "01012345678",
            "from": "0212345678",
            "statusCode": code,
            "statusMessage": message,
            "dateProcessed": "2025-06-15T15:06:41.000Z",
            "dateReported": "2025-06-15T15:06:45.000Z",
            "dateReceived": "2025-06-15T15:06:44.000Z" if code == "4000" else None,
            "customFields": {"gatewayId": "gw-1"},
            "kakaoOptions": {"pfId": "KA01PF2506"},
        },
    }


def test_callback_delivered() -> None:
    (receipt,) = parse_callback(msgspec.json.encode([report("4000", message="수신 완료")]))

    assert receipt.vendor == "solapi"
    assert receipt.event_id == "E1"
    assert receipt.outcome == "delivered"
    assert receipt.correlation_id == "gw-1"
    assert receipt.vendor_message_id == "M4V20250615150640ZYXWVUTSRQPONML"
    assert receipt.code == "4000"
    assert receipt.detail == "수신 완료"
    assert receipt.occurred_at == 1_750_000_004.0


def test_callback_intermediate_and_failed_in_one_array() -> None:
    body = [
        report("2000", event_id="a"),
        report("3000", event_id="b"),
        report("3104", event_id="c", message="카카오톡 미사용자"),
    ]

    receipts = parse_callback(msgspec.json.encode(body))

    assert [(r.event_id, r.outcome) for r in receipts] == [("a", "progress"), ("b", "progress"), ("c", "failed")]
    assert receipts[2].code in SOLAPI_KAKAO_UNDELIVERABLE
    assert receipts[2].occurred_at == 1_750_000_005.0


def test_undeliverable_codes_cover_friend_and_kakao_user_failures() -> None:
    assert {"3102", "3104"} <= SOLAPI_KAKAO_UNDELIVERABLE
    assert "4000" not in SOLAPI_KAKAO_UNDELIVERABLE


def test_callback_never_carries_phone_numbers_into_receipts() -> None:
    (receipt,) = parse_callback(msgspec.json.encode([report("4000")]))

    assert "01012345678" not in repr(receipt)


@pytest.mark.parametrize(
    "body",
    [b"not json", b'{"eventDataId": "E1"}', b'[{"data": {"statusCode": "4000"}}]', b'[{"eventDataId": "E1"}]'],
)
def test_malformed_callback_raises_value_error(body: bytes) -> None:
    with pytest.raises(ValueError, match="Solapi"):
        parse_callback(body)


@pytest.fixture
def emulator() -> SolapiEmulator:
    return SolapiEmulator(CONFIG)


async def test_round_trip_kakao_accepted_then_delivered(emulator: SolapiEmulator) -> None:
    adapter = SolapiKakaoAdapter(CONFIG)
    async with httpx.AsyncClient(transport=EmulatorTransport([emulator])) as client:
        result = await send(client, adapter, adapter.build(kakao(), "gw-rt"))

    assert isinstance(result.outcome, Accepted)
    assert result.http_status == 200
    (callback,) = emulator.pending_callbacks()
    (receipt,) = parse_callback(callback.body)
    assert (receipt.correlation_id, receipt.outcome) == ("gw-rt", "delivered")
    assert receipt.vendor_message_id == result.outcome.vendor_message_id


async def test_round_trip_503_twice_then_success(emulator: SolapiEmulator) -> None:
    emulator.script(Fault(http_status=503), Fault(http_status=503, retry_after=2))
    adapter = SolapiLmsAdapter(CONFIG)
    async with httpx.AsyncClient(transport=EmulatorTransport([emulator])) as client:
        # Each attempt is built anew: a Solapi signature cannot be used twice.
        outcomes = [(await send(client, adapter, adapter.build(lms(), "gw-r"))).outcome for _ in range(3)]

    assert isinstance(outcomes[0], Retryable)
    assert outcomes[1] == Retryable("ServiceUnavailable", "emulated HTTP 503", retry_after=2.0)
    assert isinstance(outcomes[2], Accepted)


async def test_round_trip_read_timeout_is_uncertain(emulator: SolapiEmulator) -> None:
    emulator.script(Fault(timeout=True))
    adapter = SolapiLmsAdapter(CONFIG)
    async with httpx.AsyncClient(transport=EmulatorTransport([emulator])) as client:
        result = await send(client, adapter, adapter.build(lms(), "gw-t"))

    assert result.outcome == Uncertain("timeout", "ReadTimeout after sending")
    assert emulator.pending_callbacks() == []


@pytest.mark.parametrize("error", [httpx.ConnectError("refused"), httpx.ConnectTimeout("slow connect")])
@respx.mock
async def test_a_connection_that_never_opened_sent_nothing_and_is_retried(error: Exception) -> None:
    respx.post(f"{CONFIG.url}{SEND_PATH}").mock(side_effect=error)
    adapter = SolapiLmsAdapter(CONFIG)
    async with httpx.AsyncClient() as client:
        result = await send(client, adapter, adapter.build(lms(), "gw-c"))

    assert isinstance(result.outcome, Retryable)


@pytest.mark.parametrize(
    "error", [httpx.ReadTimeout("no answer"), httpx.ReadError("reset"), httpx.RemoteProtocolError("hung up")]
)
@respx.mock
async def test_an_error_after_the_request_went_out_is_uncertain(error: Exception) -> None:
    route = respx.post(f"{CONFIG.url}{SEND_PATH}").mock(side_effect=error)
    adapter = SolapiLmsAdapter(CONFIG)
    async with httpx.AsyncClient() as client:
        result = await send(client, adapter, adapter.build(lms(), "gw-u"))

    assert isinstance(result.outcome, Uncertain)
    assert route.call_count == 1


async def test_round_trip_vendor_error_code_is_permanent(emulator: SolapiEmulator) -> None:
    emulator.script(Fault(vendor_code="1062"))
    adapter = SolapiLmsAdapter(CONFIG)
    async with httpx.AsyncClient(transport=EmulatorTransport([emulator])) as client:
        result = await send(client, adapter, adapter.build(lms(), "gw-v"))

    assert result.outcome == Permanent("1062", "발신번호 미등록")


async def test_round_trip_emoji_in_lms_is_refused_with_1029(emulator: SolapiEmulator) -> None:
    adapter = SolapiLmsAdapter(CONFIG)
    async with httpx.AsyncClient(transport=EmulatorTransport([emulator])) as client:
        result = await send(client, adapter, adapter.build(lms(content="광고 🎉"), "gw-e"))

    assert isinstance(result.outcome, Permanent)
    assert result.outcome.code == "1029"


async def test_round_trip_kakao_not_a_user_reports_undeliverable(emulator: SolapiEmulator) -> None:
    emulator.outcomes["01012345678"] = "3104"
    adapter = SolapiKakaoAdapter(CONFIG)
    async with httpx.AsyncClient(transport=EmulatorTransport([emulator])) as client:
        await send(client, adapter, adapter.build(kakao(), "gw-f"))

    (receipt,) = parse_callback(emulator.pending_callbacks()[0].body)
    assert receipt.outcome == "failed"
    assert receipt.code in SOLAPI_KAKAO_UNDELIVERABLE


def test_a_batch_is_one_signed_request_with_each_message_its_own_entry_in_order() -> None:
    adapter = fixed(SolapiLmsAdapter)
    batch = items(lms(phone="01011110001", content="첫째"), lms(phone="01011110002", subject=None, content="둘째"))

    request = adapter.build_batch(batch)

    assert request.url == "https://api.solapi.com/messages/v4/send-many/detail"
    assert request.headers == {"Authorization": expected_authorization(), "Content-Type": "application/json"}
    assert request.json == {
        "messages": [
            {
                "to": "01011110001",
                "from": "0212345678",
                "type": "LMS",
                "subject": "실시간 베스트",
                "text": "첫째",
                "customFields": {"gatewayId": "gw-1"},
            },
            {
                "to": "01011110002",
                "from": "0212345678",
                "type": "LMS",
                "text": "둘째",
                "customFields": {"gatewayId": "gw-2"},
            },
        ],
        "showMessageList": True,
    }


def test_a_single_send_is_the_one_message_batch() -> None:
    adapter = fixed(SolapiKakaoAdapter)

    assert adapter.build(kakao(), "gw-1", send_key="key-1") == adapter.build_batch(
        [BatchItem(message=kakao(), message_id="gw-1", send_key="key-1")]
    )


def test_two_messages_to_one_number_allow_duplicates_or_solapi_refuses_the_second_with_1026() -> None:
    request = fixed(SolapiKakaoAdapter).build_batch(items(kakao(), kakao(content="다른 소식")))

    assert request.json["allowDuplicates"] is True


def test_any_messages_of_a_channel_share_a_request_up_to_10000() -> None:
    adapter = fixed(SolapiKakaoAdapter)

    assert adapter.batch_key(kakao()) == adapter.batch_key(kakao(content="다른", buttons=(), phone="01099998888"))
    assert adapter.batch_key(kakao(phone=None)) is None
    assert SolapiKakaoAdapter.max_batch == SolapiLmsAdapter.max_batch == 10_000
    assert isinstance(adapter, BatchAdapter)


def batch_answer(*, failed: list[dict[str, object]], listed: list[dict[str, object]] | None) -> VendorResponse:
    count = {"total": 3, "registeredFailed": len(failed), "registeredSuccess": 3 - len(failed)}
    body: dict[str, object] = {
        "groupInfo": {"groupId": "G4V1", "count": count},
        "failedMessageList": failed,
    }
    if listed is not None:
        body["messageList"] = listed
    return VendorResponse(200, {}, msgspec.json.encode(body))


def listed(message_id: str, gateway_id: str) -> dict[str, object]:
    return {
        "messageId": message_id,
        "statusCode": "2000",
        "statusMessage": "",
        "customFields": {"gatewayId": gateway_id},
    }


THREE = items(lms(phone="01011110001"), lms(phone="01011110002"), lms(phone="01011110003"))


def test_a_partly_refused_batch_settles_each_message_by_its_own_entry() -> None:
    refused = failed_entry("1062", "발신번호 미등록") | {"to": "01011110002", "customFields": {"gatewayId": "gw-2"}}
    later = failed_entry("1030", "잔액 부족") | {"to": "01011110003", "customFields": {"gatewayId": "gw-3"}}
    answer = batch_answer(failed=[later, refused], listed=[listed("M1", "gw-1")])

    outcomes = fixed(SolapiLmsAdapter).classify_batch(answer, THREE)

    assert outcomes == [
        Accepted("M1", code="2000", detail="group G4V1"),
        Permanent("1062", "발신번호 미등록"),
        Retryable("1030", "잔액 부족"),
    ]


def test_a_refused_entry_without_our_id_is_found_by_its_number_when_only_one_message_went_there() -> None:
    refused = {k: v for k, v in failed_entry("1062", "no").items() if k != "customFields"} | {"to": "01011110003"}
    answer = batch_answer(failed=[refused], listed=[listed("M1", "gw-1"), listed("M2", "gw-2")])

    outcomes = fixed(SolapiLmsAdapter).classify_batch(answer, THREE)

    assert [type(o) for o in outcomes] == [Accepted, Accepted, Permanent]


def test_a_message_the_answer_does_not_name_is_uncertain_for_the_lookup() -> None:
    answer = batch_answer(failed=[], listed=[listed("M1", "gw-1"), listed("M3", "gw-3")])

    outcomes = fixed(SolapiLmsAdapter).classify_batch(answer, THREE)

    assert isinstance(outcomes[0], Accepted)
    assert isinstance(outcomes[2], Accepted)
    assert outcomes[1] == Uncertain("not-in-answer", "group G4V1: Solapi's answer does not name this message")


def test_an_answer_listing_no_message_accepts_all_only_when_its_count_says_so() -> None:
    adapter = fixed(SolapiLmsAdapter)

    assert (
        adapter.classify_batch(batch_answer(failed=[], listed=None), THREE) == [Accepted(None, detail="group G4V1")] * 3
    )
    short = batch_answer(failed=[], listed=None)
    short = VendorResponse(200, {}, short.body.replace(b'"registeredSuccess":3', b'"registeredSuccess":2'))
    assert all(isinstance(o, Uncertain) for o in adapter.classify_batch(short, THREE))


@pytest.mark.parametrize(
    ("response", "kind"),
    [
        (VendorResponse(503, {}, error_body("ServiceUnavailable", "busy")), Retryable),
        (VendorResponse(500, {}, b"upstream"), Uncertain),
        (VendorResponse(400, {}, error_body("ValidationError", "bad")), Permanent),
    ],
)
def test_a_failed_request_is_every_messages_outcome(response: VendorResponse, kind: type) -> None:
    outcomes = fixed(SolapiLmsAdapter).classify_batch(response, THREE)

    assert_same_for_all(outcomes, 3, kind)


async def test_round_trip_batch_partly_refused_then_each_accepted_one_reported_and_found(
    emulator: SolapiEmulator,
) -> None:
    emulator.outcomes["01011110003"] = "3104"
    adapter = SolapiKakaoAdapter(CONFIG)
    batch = items(
        kakao(phone="01011110001"), kakao(phone="01011110002", content="x" * 1301), kakao(phone="01011110003")
    )
    async with httpx.AsyncClient(transport=EmulatorTransport([emulator])) as client:
        result = await send_batch(client, adapter, adapter.build_batch(batch), batch)
        found = await look_up_each(solapi_lookup(CONFIG), client, batch)

    first, second, third = result.outcomes
    assert isinstance(first, Accepted)
    assert isinstance(third, Accepted)
    assert isinstance(second, Permanent)
    assert second.code == "1031"
    receipts = {r.correlation_id: r for c in emulator.pending_callbacks() for r in parse_callback(c.body)}
    assert {k: (r.outcome, r.vendor_message_id) for k, r in receipts.items()} == {
        "gw-1": ("delivered", first.vendor_message_id),
        "gw-3": ("failed", third.vendor_message_id),
    }
    assert [type(f) for f in found] == [Found, NotFound, Found]


async def test_emulator_refuses_a_numbers_second_message_without_allow_duplicates(emulator: SolapiEmulator) -> None:
    request = SolapiLmsAdapter(CONFIG).build_batch(items(lms(), lms(content="둘째")))
    body = {k: v for k, v in request.json.items() if k != "allowDuplicates"}
    async with httpx.AsyncClient(transport=EmulatorTransport([emulator])) as client:
        refused = await client.post(request.url, headers=request.headers, json=body)
        adapter = SolapiLmsAdapter(CONFIG)
        batch = items(lms(), lms(content="둘째"))
        allowed = await send_batch(client, adapter, adapter.build_batch(batch), batch)

    assert [(e["customFields"]["gatewayId"], e["statusCode"]) for e in refused.json()["failedMessageList"]] == [
        ("gw-2", "1026")
    ]
    assert all(isinstance(o, Accepted) for o in allowed.outcomes)


async def test_emulator_takes_at_most_10000_messages_a_request(emulator: SolapiEmulator) -> None:
    adapter = SolapiLmsAdapter(CONFIG)
    batch = [
        BatchItem(message=lms(phone=f"010{i:08d}"), message_id=f"gw-{i}", send_key=f"k-{i}") for i in range(10_001)
    ]
    async with httpx.AsyncClient(transport=EmulatorTransport([emulator])) as client:
        result = await send_batch(client, adapter, adapter.build_batch(batch), batch)

    assert result.http_status == 400
    assert set(result.outcomes) == {Permanent("ValidationError", "messages must hold 1 to 10,000 messages")}
