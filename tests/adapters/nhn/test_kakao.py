from __future__ import annotations

from typing import Any

import httpx
import msgspec
import pytest

from adapters.base import VendorResponse, send
from adapters.batch import BatchAdapter, BatchItem, send_batch
from adapters.contract import Accepted, Found, NotFound, Permanent, Reason, Retryable, Uncertain
from adapters.emulator import EmulatorTransport, Fault
from adapters.nhn.callbacks import parse_callback as parse_any_nhn_callback
from adapters.nhn.config import NhnKakaoConfig
from adapters.nhn.emulator_kakao import NhnKakaoEmulator
from adapters.nhn.kakao import KAKAO_RETRY_LATER, KAKAO_UNDELIVERABLE, NhnKakaoAdapter, kakao_outcome, parse_callback
from adapters.nhn.lookup import kakao_lookup
from gateway.models import Button, OutboundMessage
from tests.adapters.batching import assert_same_for_all, items, look_up_each

CONFIG = NhnKakaoConfig(appkey="kakao-appkey", secret="kakao-secret", sender_key="f" * 40)
URL = "https://kakaotalk-bizmessage.api.nhncloudservice.com/brand-message/v1.0/appkeys/kakao-appkey/freestyle-messages"
SPEC_CONTENT = (
    "서포터님,\n헤어케어 카테고리에서 지금 가장 핫한 프로젝트는? 지금 확인해 보세요.\n"
    "✨[14억+ 앵콜] 미용실 50배 효과?! 단백질 쇼크 LPT 헤어팩🎉"
)
LINK = "https://www.wadiz.kr/web/campaign/detail/356850"
PC_LINK = "https://www.wadiz.kr/web/campaign/detail/356850?pc=1"


def kakao(**changes: Any) -> OutboundMessage:
    fields: dict[str, Any] = {
        "channel": "kakao",
        "user_id": "u-20250610-0001",
        "phone": "01012345678",
        "content": SPEC_CONTENT,
        "buttons": (Button("지금 확인하기", LINK, PC_LINK),),
        "ad": True,
        "fallback": "lms",
    }
    return OutboundMessage(**(fields | changes))


def response(status: int, body: Any, headers: dict[str, str] | None = None) -> VendorResponse:
    raw = body if isinstance(body, bytes) else msgspec.json.encode(body)
    return VendorResponse(status, headers or {}, raw)


def nhn_answer(code: int = 0, *, recipient_code: int = 0, successful: bool | None = None) -> dict[str, Any]:
    header = {
        "resultCode": code,
        "resultMessage": "SUCCESS" if code == 0 else "failure",
        "isSuccessful": code == 0 if successful is None else successful,
    }
    if code != 0:
        return {"header": header}
    return {
        "header": header,
        "message": {
            "requestId": "20250610101010abcdefghij0",
            "senderGroupingKey": None,
            "sendResults": [
                {
                    "recipientSeq": 1,
                    "recipientNo": "01012345678",
                    "resultCode": recipient_code,
                    "resultMessage": "SUCCESS" if recipient_code == 0 else "Invalid recipient number.",
                    "recipientGroupingKey": "gw-1",
                }
            ],
        },
    }


def test_spec_example_builds_the_documented_free_form_text_request() -> None:
    request = NhnKakaoAdapter(CONFIG).build(kakao(), "gw-1")

    assert request.method == "POST"
    assert request.url == URL
    assert request.headers == {
        "Content-Type": "application/json;charset=UTF-8",
        "X-Secret-Key": "kakao-secret",
        "X-NC-API-IDEMPOTENCY-KEY": "gw-1",
    }
    assert request.secret_headers == ("X-Secret-Key",)
    # Field by field as NHN documents it; the emoji stay (KakaoTalk carries them).
    assert request.json == {
        "senderKey": "f" * 40,
        "chatBubbleType": "TEXT",
        "pushAlarm": True,
        "adult": False,
        "content": SPEC_CONTENT,
        "buttons": [{"name": "지금 확인하기", "type": "WL", "linkMo": LINK, "linkPc": PC_LINK}],
        "recipientList": [
            {
                "recipientNo": "01012345678",
                "targeting": "I",
                "recipientGroupingKey": "gw-1",
                "resendParameter": {"isResend": False},
            }
        ],
    }


def test_stored_copy_redacts_the_secret_key() -> None:
    stored = NhnKakaoAdapter(CONFIG).build(kakao(), "gw-1").redacted()

    assert stored["headers"]["X-Secret-Key"] == "[redacted]"
    assert stored["headers"]["X-NC-API-IDEMPOTENCY-KEY"] == "gw-1"
    assert "kakao-secret" not in msgspec.json.encode(stored).decode()


def test_image_bubble_links_the_image_to_the_first_buttons_mobile_link() -> None:
    buttons = (Button("첫 번째", LINK, PC_LINK), Button("두 번째", "https://b.example/m", "https://b.example/p"))
    body = NhnKakaoAdapter(CONFIG).build(kakao(image_url="https://img.example/a.jpg", buttons=buttons), "gw-1").json

    assert body["chatBubbleType"] == "IMAGE"
    assert body["image"] == {"imageUrl": "https://img.example/a.jpg", "imageLink": LINK}
    assert [b["name"] for b in body["buttons"]] == ["첫 번째", "두 번째"]


def test_image_without_buttons_has_no_image_link_and_no_buttons() -> None:
    body = NhnKakaoAdapter(CONFIG).build(kakao(image_url="https://img.example/a.jpg", buttons=()), "gw-1").json

    assert body["image"] == {"imageUrl": "https://img.example/a.jpg"}
    assert "buttons" not in body


def test_five_buttons_keep_their_order_and_both_links() -> None:
    buttons = tuple(Button(f"버튼 {i}", f"https://m.example/{i}", f"https://pc.example/{i}") for i in range(5))
    body = NhnKakaoAdapter(CONFIG).build(kakao(buttons=buttons), "gw-1").json

    assert body["buttons"] == [
        {"name": f"버튼 {i}", "type": "WL", "linkMo": f"https://m.example/{i}", "linkPc": f"https://pc.example/{i}"}
        for i in range(5)
    ]


def test_a_kakao_message_without_a_phone_cannot_be_built() -> None:
    with pytest.raises(ValueError, match="phone"):
        NhnKakaoAdapter(CONFIG).build(kakao(phone=None), "gw-1")


def test_success_is_accepted_with_nhns_request_id() -> None:
    outcome = NhnKakaoAdapter(CONFIG).classify(response(200, nhn_answer()))

    assert outcome == Accepted("20250610101010abcdefghij0", "0", "SUCCESS")


@pytest.mark.parametrize("code", [-1000, -1001, -2000, -2001, -3006, -3310, -4019])
def test_validation_and_auth_codes_with_http_200_are_permanent(code: int) -> None:
    outcome = NhnKakaoAdapter(CONFIG).classify(response(200, nhn_answer(code)))

    assert outcome == Permanent(str(code), "failure")


@pytest.mark.parametrize("code", [-9999, -7000])
def test_system_error_codes_are_retryable(code: int) -> None:
    outcome = NhnKakaoAdapter(CONFIG).classify(response(200, nhn_answer(code)))

    assert outcome == Retryable(str(code), "failure")


def test_a_repeated_idempotency_key_is_uncertain_never_taken_as_accepted() -> None:
    # The first attempt may have failed and still left its key: only the lookup can tell (issue 9).
    outcome = NhnKakaoAdapter(CONFIG).classify(response(200, nhn_answer(-1005)))

    assert isinstance(outcome, Uncertain)
    assert outcome.code == "-1005"


@pytest.mark.parametrize("code", [9998, 9999])
def test_a_recipient_result_of_kakao_system_trouble_is_retried_once_nhn_forgets_the_key(code: int) -> None:
    outcome = NhnKakaoAdapter(CONFIG).classify(response(200, nhn_answer(recipient_code=code)))

    assert isinstance(outcome, Retryable)
    assert (outcome.code, outcome.retry_after) == (str(code), 660.0)


def test_failed_recipient_inside_an_accepted_request_is_classified_by_its_code() -> None:
    outcome = NhnKakaoAdapter(CONFIG).classify(response(200, nhn_answer(recipient_code=-4019)))

    assert outcome == Permanent("-4019", "Invalid recipient number.")


def test_429_honours_retry_after() -> None:
    outcome = NhnKakaoAdapter(CONFIG).classify(response(429, b"Too Many Requests", {"retry-after": "7"}))

    assert outcome == Retryable("http-429", "HTTP 429", 7.0)


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408, 425])
def test_server_errors_and_timeouts_are_retryable(status: int) -> None:
    outcome = NhnKakaoAdapter(CONFIG).classify(response(status, nhn_answer(-9999)))

    assert isinstance(outcome, Retryable)
    assert outcome.code == "-9999"


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_other_4xx_are_permanent(status: int) -> None:
    outcome = NhnKakaoAdapter(CONFIG).classify(response(status, b"<html>error</html>"))

    assert outcome == Permanent(f"http-{status}", f"HTTP {status}")


def test_unreadable_2xx_is_uncertain_and_looked_up() -> None:
    outcome = NhnKakaoAdapter(CONFIG).classify(response(200, b"<html>proxy</html>"))

    assert isinstance(outcome, Uncertain)
    assert outcome.code == "malformed-response"


def webhook_body(*hooks: dict[str, Any], event: str = "MESSAGE_RESULT_UPDATE") -> bytes:
    return msgspec.json.encode(
        {
            "hooksId": "202007271010101010sadasdavas",
            "webhookConfigId": "cfg",
            "productName": "KakaoTalk Bizmessage",
            "appKey": "kakao-appkey",
            "event": event,
            "hooks": list(hooks),
        }
    )


def hook(result_code: Any = "1000", **changes: Any) -> dict[str, Any]:
    return {
        "hookId": "20240429205809GcSUXthVA00",
        "kakaoMessageType": "BRAND_MESSAGE_NORMAL",
        "requestId": "20240429205802y0Tl7Gbz0e0",
        "recipientSeq": 1,
        "recipientNo": "01012345678",
        "resultCode": result_code,
        "senderGroupingKey": None,
        "recipientGroupingKey": "gw-1",
        "requestDate": "2024-04-29T20:58:02",
        "receiveDate": "2024-04-29T20:58:04",
        "createDate": "2024-04-29T20:58:02",
        "isAddedChannel": True,
    } | changes


def test_delivered_hook_becomes_a_delivered_receipt() -> None:
    [receipt] = parse_callback(webhook_body(hook()))

    assert receipt.vendor == "nhn"
    assert receipt.event_id == "20240429205809GcSUXthVA00"
    assert receipt.outcome == "delivered"
    assert receipt.correlation_id == "gw-1"
    assert receipt.vendor_message_id == "20240429205802y0Tl7Gbz0e0"
    assert receipt.code == "1000"
    # 20:58:04 KST is 11:58:04 UTC.
    assert receipt.occurred_at == 1714391884.0


def test_undeliverable_hook_keeps_the_kakao_code_and_says_why() -> None:
    [receipt] = parse_callback(webhook_body(hook("3019")))

    assert receipt.outcome == "failed"
    assert receipt.code == "3019"
    assert receipt.detail == "not a KakaoTalk user"
    assert receipt.code in KAKAO_UNDELIVERABLE


@pytest.mark.parametrize("added", [False, "false", "FALSE"])
def test_a_failed_hook_for_a_recipient_who_is_not_a_channel_friend_is_unreachable_whatever_the_code(added: Any) -> None:
    [receipt] = parse_callback(webhook_body(hook("1028", isAddedChannel=added)))

    assert (receipt.outcome, receipt.reason) == ("failed", Reason.UNREACHABLE)


@pytest.mark.parametrize(
    ("code", "added", "reason"),
    [("1028", True, Reason.OTHER), ("1028", None, Reason.OTHER), ("1000", False, Reason.DELIVERED)],
)
def test_is_added_channel_decides_only_a_failure_of_a_non_friend(code: str, added: Any, reason: Reason) -> None:
    [receipt] = parse_callback(webhook_body(hook(code, isAddedChannel=added)))

    assert receipt.reason is reason


def test_numeric_result_code_is_read_as_the_same_code() -> None:
    [receipt] = parse_callback(webhook_body(hook(3018)))

    assert (receipt.outcome, receipt.code) == ("failed", "3018")


def test_hook_without_a_result_yet_is_progress() -> None:
    [receipt] = parse_callback(webhook_body(hook(None)))

    assert receipt.outcome == "progress"
    assert receipt.code is None


def test_several_hooks_give_several_receipts() -> None:
    receipts = parse_callback(webhook_body(hook(), hook("3018", hookId="h-2", recipientGroupingKey="gw-2")))

    assert [(r.event_id, r.outcome, r.correlation_id) for r in receipts] == [
        ("20240429205809GcSUXthVA00", "delivered", "gw-1"),
        ("h-2", "failed", "gw-2"),
    ]


def test_template_events_carry_no_receipts() -> None:
    assert (
        parse_callback(webhook_body({"hookId": "h", "templateCode": "T1", "status": "TSC03"}, event="TEMPLATE")) == []
    )


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[]", b'{"hooksId": "x"}', msgspec.json.encode({"productName": "KakaoTalk Bizmessage"})],
)
def test_malformed_webhook_is_a_value_error(body: bytes) -> None:
    with pytest.raises(ValueError, match="NHN webhook"):
        parse_callback(body)


def test_sms_webhook_is_not_a_bizmessage_webhook() -> None:
    body = webhook_body(hook()).replace(b"KakaoTalk Bizmessage", b"SMS")

    with pytest.raises(ValueError, match="not 'KakaoTalk Bizmessage'"):
        parse_callback(body)


@pytest.mark.parametrize(
    ("code", "outcome"),
    [("1000", "delivered"), ("3018", "failed"), ("3022", "failed"), ("9999", "failed"), ("3005", "progress")],
)
def test_kakao_codes_map_to_receipt_outcomes(code: str, outcome: str) -> None:
    assert kakao_outcome(code) == outcome


def test_fallback_codes_are_user_side_only() -> None:
    assert {"3018", "3019"} <= KAKAO_UNDELIVERABLE
    # A bad number fails as LMS too; a blocked channel is an operator problem.
    assert not KAKAO_UNDELIVERABLE & {"3008", "1021", "1000", "3022"}
    assert {"9998", "9999"} == KAKAO_RETRY_LATER


def emulated() -> tuple[NhnKakaoAdapter, NhnKakaoEmulator, httpx.AsyncClient]:
    emulator = NhnKakaoEmulator(CONFIG)
    return NhnKakaoAdapter(CONFIG), emulator, httpx.AsyncClient(transport=EmulatorTransport([emulator]))


async def test_round_trip_through_the_emulator_is_accepted_and_reported_delivered() -> None:
    adapter, emulator, client = emulated()
    async with client:
        result = await send(client, adapter, adapter.build(kakao(), "gw-1"))

    assert isinstance(result.outcome, Accepted)
    assert result.http_status == 200
    [callback] = emulator.pending_callbacks(signature="sig")
    [receipt] = parse_any_nhn_callback(callback.body)
    assert (receipt.outcome, receipt.correlation_id) == ("delivered", "gw-1")
    assert receipt.vendor_message_id == result.outcome.vendor_message_id


async def test_503_twice_then_success_sends_the_same_idempotency_key_each_time() -> None:
    adapter, emulator, client = emulated()
    emulator.script(Fault(http_status=503, retry_after=2), Fault(http_status=503))
    request = adapter.build(kakao(), "gw-1")
    async with client:
        results = [await send(client, adapter, request) for _ in range(3)]

    assert [type(r.outcome) for r in results] == [Retryable, Retryable, Accepted]
    assert [r.http_status for r in results] == [503, 503, 200]
    first = results[0].outcome
    assert isinstance(first, Retryable)
    assert (first.code, first.retry_after) == ("-9999", 2.0)
    assert {r.headers["X-NC-API-IDEMPOTENCY-KEY"] for r in emulator.requests} == {"gw-1"}


async def test_a_resend_after_an_unrecorded_success_meets_the_key_and_is_uncertain_not_a_second_message() -> None:
    adapter, emulator, client = emulated()
    request = adapter.build(kakao(), "gw-1")
    async with client:
        first = await send(client, adapter, request)
        again = await send(client, adapter, request)

    assert isinstance(first.outcome, Accepted)
    assert isinstance(again.outcome, Uncertain)
    assert again.outcome.code == "-1005"
    assert len(emulator.pending_callbacks(signature="sig")) == 1


async def test_a_read_timeout_is_uncertain() -> None:
    adapter, emulator, client = emulated()
    emulator.script(Fault(timeout=True))
    async with client:
        result = await send(client, adapter, adapter.build(kakao(), "gw-1"))

    assert result.outcome == Uncertain("timeout", "ReadTimeout after sending")
    assert result.http_status is None


@pytest.mark.parametrize(("code", "kind"), [("-3006", Permanent), ("-9999", Retryable), ("-1005", Uncertain)])
async def test_vendor_codes_from_the_emulator_classify_like_nhns(code: str, kind: type) -> None:
    adapter, emulator, client = emulated()
    emulator.script(Fault(vendor_code=code))
    async with client:
        result = await send(client, adapter, adapter.build(kakao(), "gw-1"))

    assert isinstance(result.outcome, kind)
    assert result.outcome.code == code


async def test_emulator_rejects_an_overlong_image_bubble_and_the_rejection_is_permanent() -> None:
    adapter, _, client = emulated()
    message = kakao(image_url="https://img.example/a.jpg", content="가" * 1301)
    async with client:
        result = await send(client, adapter, adapter.build(message, "gw-1"))

    assert result.outcome == Permanent("-2000", "The 'content' must be at less than or equal to 1300.")


def test_every_recipient_failed_is_classified_by_the_recipients_own_code() -> None:
    answer = nhn_answer(recipient_code=3019)
    answer["header"] = {
        "resultCode": -1031,
        "resultMessage": "All of receivers are failed to send.",
        "isSuccessful": False,
    }
    answer["message"]["requestId"] = None
    answer["message"]["sendResults"][0]["resultMessage"] = "not a KakaoTalk user"

    outcome = NhnKakaoAdapter(CONFIG).classify(response(200, answer))

    assert outcome == Permanent("3019", "not a KakaoTalk user")


def test_every_recipient_failed_without_their_codes_keeps_the_header_code() -> None:
    outcome = NhnKakaoAdapter(CONFIG).classify(response(200, nhn_answer(-1031)))

    assert isinstance(outcome, Permanent)
    assert outcome.code == "-1031"


THREE = items(kakao(phone="01011110001"), kakao(phone="01011110002"), kakao(phone="01011110003"))


def test_a_batch_is_one_content_with_a_recipient_per_message_in_order() -> None:
    request = NhnKakaoAdapter(CONFIG).build_batch(THREE)

    single = NhnKakaoAdapter(CONFIG).build(kakao(), "gw-1").json
    assert {k: v for k, v in request.json.items() if k != "recipientList"} == {
        k: v for k, v in single.items() if k != "recipientList"
    }
    assert request.json["recipientList"] == [
        {
            "recipientNo": f"0101111000{i}",
            "targeting": "I",
            "recipientGroupingKey": f"gw-{i}",
            "resendParameter": {"isResend": False},
        }
        for i in (1, 2, 3)
    ]


def test_a_single_send_is_the_one_message_batch_with_its_own_send_key() -> None:
    adapter = NhnKakaoAdapter(CONFIG)
    request = adapter.build(kakao(), "gw-1", send_key="key-1")

    assert request == adapter.build_batch([BatchItem(message=kakao(), message_id="gw-1", send_key="key-1")])
    assert request.headers["X-NC-API-IDEMPOTENCY-KEY"] == "key-1"


def test_a_batch_key_is_derived_from_the_send_keys_the_same_batch_again_carries_it_again() -> None:
    adapter = NhnKakaoAdapter(CONFIG)
    key = adapter.build_batch(THREE).headers["X-NC-API-IDEMPOTENCY-KEY"]

    assert adapter.build_batch(THREE).headers["X-NC-API-IDEMPOTENCY-KEY"] == key
    assert adapter.build_batch(THREE[1:]).headers["X-NC-API-IDEMPOTENCY-KEY"] != key
    assert key not in {item.send_key for item in THREE}


def test_messages_batch_only_when_everything_but_the_recipient_is_equal() -> None:
    adapter = NhnKakaoAdapter(CONFIG)
    key = adapter.batch_key(kakao())

    assert adapter.batch_key(kakao(phone="01099998888", user_id="other")) == key
    assert adapter.batch_key(kakao(content="다른 소식")) != key
    assert adapter.batch_key(kakao(buttons=())) != key
    assert adapter.batch_key(kakao(image_url="https://mud-kage.kakao.com/dn/a.jpg")) != key
    assert adapter.batch_key(kakao(phone=None)) is None
    assert NhnKakaoAdapter.max_batch == 1000
    assert isinstance(adapter, BatchAdapter)
    assert adapter.recipient_key(kakao()) == "01012345678"


def test_a_batch_with_another_content_cannot_be_built() -> None:
    with pytest.raises(ValueError, match="one content"):
        NhnKakaoAdapter(CONFIG).build_batch(items(kakao(), kakao(content="다른 소식", phone="01099998888")))


def batch_answer(*results: tuple[int, int, str], header: int = 0) -> dict[str, Any]:
    """A brand message answer: (recipientSeq, resultCode, recipientNo) each; no grouping keys, as documented."""
    send_results = [
        {"recipientSeq": seq, "recipientNo": number, "resultCode": code, "resultMessage": f"code {code}"}
        for seq, code, number in results
    ]
    return {
        "header": {
            "resultCode": header,
            "resultMessage": "SUCCESS" if header == 0 else "failed",
            "isSuccessful": header == 0,
        },
        "message": {"requestId": None if header else "r-1", "sendResults": send_results},
    }


def test_a_partly_failed_batch_settles_each_message_by_its_own_result() -> None:
    answer = batch_answer((3, 0, "01011110003"), (1, -4019, "01011110001"), (2, 9999, "01011110002"))

    outcomes = NhnKakaoAdapter(CONFIG).classify_batch(response(200, answer), THREE)

    assert outcomes[0] == Permanent("-4019", "code -4019")
    assert isinstance(outcomes[1], Retryable)
    assert outcomes[1].code == "9999"
    assert outcomes[2] == Accepted("r-1", "0", "SUCCESS")


def test_a_message_the_answer_does_not_give_is_uncertain() -> None:
    answer = batch_answer((1, 0, "01011110001"), (3, 0, "01011110003"))

    outcomes = NhnKakaoAdapter(CONFIG).classify_batch(response(200, answer), THREE)

    assert [type(o) for o in outcomes] == [Accepted, Uncertain, Accepted]


def test_every_recipient_failed_settles_each_by_its_own_code() -> None:
    answer = batch_answer((1, 3019, "01011110001"), (2, -4019, "01011110002"), header=-1031)

    outcomes = NhnKakaoAdapter(CONFIG).classify_batch(response(200, answer), THREE)

    assert [o.code for o in outcomes] == ["3019", "-4019", "-1031"]
    assert all(isinstance(o, Permanent) for o in outcomes)


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (200, {"header": {"resultCode": -1005, "resultMessage": "same key", "isSuccessful": False}}, Uncertain),
        (200, {"header": {"resultCode": -9999, "resultMessage": "system", "isSuccessful": False}}, Retryable),
        (200, {"header": {"resultCode": -2017, "resultMessage": "sender", "isSuccessful": False}}, Permanent),
        (503, b"busy", Retryable),
        (200, b"<html>", Uncertain),
    ],
)
def test_a_failed_request_is_every_messages_outcome(status: int, body: Any, kind: type) -> None:
    outcomes = NhnKakaoAdapter(CONFIG).classify_batch(response(status, body), THREE)

    assert_same_for_all(outcomes, 3, kind)


async def test_round_trip_batch_with_a_bad_number_then_each_sent_one_reported_and_found() -> None:
    adapter, emulator, client = emulated()
    emulator.outcomes["01011110003"] = "3019"
    batch = items(kakao(phone="01011110001"), kakao(phone="0212345678"), kakao(phone="01011110003"))
    async with client:
        result = await send_batch(client, adapter, adapter.build_batch(batch), batch)
        found = await look_up_each(kakao_lookup(CONFIG), client, batch)

    first, second, third = result.outcomes
    assert isinstance(first, Accepted)
    assert isinstance(third, Accepted)
    assert second == Permanent("-4019", "Invalid recipient number.")
    receipts = [r for c in emulator.pending_callbacks(signature="sig") for r in parse_any_nhn_callback(c.body)]
    assert {(r.correlation_id, r.outcome, r.reason) for r in receipts} == {
        ("gw-1", "delivered", Reason.DELIVERED),
        ("gw-3", "failed", Reason.UNREACHABLE),
    }
    assert {r.vendor_message_id for r in receipts} == {first.vendor_message_id}
    assert [type(f) for f in found] == [Found, NotFound, Found]


async def test_the_same_batch_sent_again_meets_its_key_and_every_message_is_uncertain() -> None:
    adapter, _emulator, client = emulated()
    async with client:
        first = await send_batch(client, adapter, adapter.build_batch(THREE), THREE)
        again = await send_batch(client, adapter, adapter.build_batch(THREE), THREE)
        rest = await send_batch(client, adapter, adapter.build_batch(THREE[1:]), THREE[1:])

    assert all(isinstance(o, Accepted) for o in first.outcomes)
    assert [o.code for o in again.outcomes] == ["-1005"] * 3
    assert all(isinstance(o, Uncertain) for o in again.outcomes)
    assert all(isinstance(o, Accepted) for o in rest.outcomes)


async def test_emulator_takes_at_most_1000_recipients_a_request() -> None:
    adapter, _, client = emulated()
    batch = [
        BatchItem(message=kakao(phone=f"0101{i:07d}"), message_id=f"gw-{i}", send_key=f"k-{i}") for i in range(1001)
    ]
    async with client:
        result = await send_batch(client, adapter, adapter.build_batch(batch), batch)

    assert set(result.outcomes) == {Permanent("-2000", "The 'recipientList' must be at less than or equal to 1000.")}
