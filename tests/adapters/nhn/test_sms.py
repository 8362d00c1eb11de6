from __future__ import annotations

from typing import Any

import httpx
import msgspec
import pytest

from adapters.base import VendorResponse, send
from adapters.batch import BatchAdapter, BatchItem, send_batch
from adapters.contract import Accepted, Found, NotFound, Permanent, Retryable, Uncertain
from adapters.emulator import EmulatorTransport, Fault
from adapters.nhn.callbacks import parse_callback as parse_any_nhn_callback
from adapters.nhn.config import NhnSmsConfig
from adapters.nhn.emulator_sms import NhnSmsEmulator
from adapters.nhn.lookup import sms_lookup
from adapters.nhn.sms import NhnSmsAdapter, parse_callback, sms_outcome
from gateway.models import OutboundMessage
from tests.adapters.batching import assert_same_for_all, items, look_up_each

CONFIG = NhnSmsConfig(appkey="sms-appkey", secret="sms-secret", send_no="15446859")
BASE = "https://sms.api.nhncloudservice.com/sms/v3.0/appKeys/sms-appkey/sender"
# The README's example after the LMS channel rules: emoji removed, ad prefix and opt-out line added.
AD_CONTENT = (
    "(광고)와디즈\n서포터님,\n헤어케어 카테고리에서 지금 가장 핫한 프로젝트는? 지금 확인해 보세요.\n"
    "[14억+ 앵콜] 미용실 50배 효과?! 단백질 쇼크 LPT 헤어팩\n"
    "지금 확인하기: https://www.wadiz.kr/web/campaign/detail/356850\n무료거부 0801234567"
)


def lms(**changes: Any) -> OutboundMessage:
    fields: dict[str, Any] = {
        "channel": "lms",
        "user_id": "u-20250610-0001",
        "phone": "01012345678",
        "subject": "실시간 베스트",
        "content": AD_CONTENT,
        "ad": True,
    }
    return OutboundMessage(**(fields | changes))


def response(status: int, body: Any, headers: dict[str, str] | None = None) -> VendorResponse:
    raw = body if isinstance(body, bytes) else msgspec.json.encode(body)
    return VendorResponse(status, headers or {}, raw)


def nhn_answer(code: int = 0, *, recipient_code: int = 0, message: str = "SUCCESS") -> dict[str, Any]:
    header = {"isSuccessful": code == 0, "resultCode": code, "resultMessage": message}
    if code != 0:
        return {"header": header}
    result = {
        "recipientNo": "01012345678",
        "resultCode": recipient_code,
        "resultMessage": message,
        "recipientSeq": 1,
        "recipientGroupingKey": "gw-1",
    }
    data = {"requestId": "20180810100630ReZQ6KZzAH0", "statusCode": "2", "sendResultList": [result]}
    return {"header": header, "body": {"data": data}}


def test_ad_lms_goes_to_ad_mms_with_the_documented_body() -> None:
    request = NhnSmsAdapter(CONFIG).build(lms(), "gw-1")

    assert request.method == "POST"
    assert request.url == f"{BASE}/ad-mms"
    assert request.headers == {
        "Content-Type": "application/json;charset=UTF-8",
        "X-Secret-Key": "sms-secret",
        "X-NC-API-IDEMPOTENCY-KEY": "gw-1",
    }
    assert request.secret_headers == ("X-Secret-Key",)
    assert request.json == {
        "title": "실시간 베스트",
        "body": AD_CONTENT,
        "sendNo": "15446859",
        "recipientList": [{"recipientNo": "01012345678", "recipientGroupingKey": "gw-1"}],
    }


def test_non_advertising_lms_goes_to_mms() -> None:
    request = NhnSmsAdapter(CONFIG).build(lms(ad=False, content="주문하신 상품이 발송되었습니다."), "gw-1")

    assert request.url == f"{BASE}/mms"
    assert request.json["body"] == "주문하신 상품이 발송되었습니다."


def test_without_a_subject_the_title_is_the_first_line_cut_to_40_bytes() -> None:
    request = NhnSmsAdapter(CONFIG).build(lms(subject=None, content="\n" + "가" * 30 + "\n둘째 줄"), "gw-1")

    assert request.json["title"] == "가" * 20
    assert len(request.json["title"].encode("cp949")) == 40


def test_an_lms_without_a_phone_cannot_be_built() -> None:
    with pytest.raises(ValueError, match="phone"):
        NhnSmsAdapter(CONFIG).build(lms(phone=None), "gw-1")


def test_success_is_accepted_with_nhns_request_id() -> None:
    assert NhnSmsAdapter(CONFIG).classify(response(200, nhn_answer())) == Accepted(
        "20180810100630ReZQ6KZzAH0", "0", "SUCCESS"
    )


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (-2023, "Unacceptable characters in title and body"),
        (-2312, "Not regist sendno."),
        (-6003, "The body must contain block guide ment."),
        (-2015, "Title or Body exceed maximum byte."),
        (-1000, "Invalid appKey."),
    ],
)
def test_validation_codes_with_http_200_are_permanent(code: int, message: str) -> None:
    outcome = NhnSmsAdapter(CONFIG).classify(response(200, nhn_answer(code, message=message)))

    assert outcome == Permanent(str(code), message)


@pytest.mark.parametrize("code", [-9999, -2021])
def test_system_errors_are_retryable(code: int) -> None:
    outcome = NhnSmsAdapter(CONFIG).classify(response(200, nhn_answer(code, message="System error.")))

    assert outcome == Retryable(str(code), "System error.")


def test_failed_recipient_inside_an_accepted_request_is_classified_by_its_code() -> None:
    answer = nhn_answer(recipient_code=-2019, message="RecipientNo is invalid.")

    assert NhnSmsAdapter(CONFIG).classify(response(200, answer)) == Permanent("-2019", "RecipientNo is invalid.")


def test_429_with_retry_after_and_5xx_are_retryable() -> None:
    adapter = NhnSmsAdapter(CONFIG)

    assert adapter.classify(response(429, b"", {"Retry-After": "30"})) == Retryable("http-429", "HTTP 429", 30.0)
    assert adapter.classify(response(502, b"bad gateway")) == Retryable("http-502", "HTTP 502")


def test_401_is_permanent() -> None:
    assert NhnSmsAdapter(CONFIG).classify(response(401, b"")) == Permanent("http-401", "HTTP 401")


def webhook_body(*hooks: dict[str, Any], event: str = "MESSAGE_RESULT_UPDATE", product: str = "SMS") -> bytes:
    envelope = {
        "hooksId": "202007271010101010sadasdavas",
        "webhookConfigId": "String",
        "productName": product,
        "appKey": "sms-appkey",
        "event": event,
        "hooks": list(hooks),
    }
    return msgspec.json.encode(envelope)


def hook(status: str = "COMPLETED", code: str | None = "1000", **changes: Any) -> dict[str, Any]:
    # NHN's documented example, including its misspelt grouping key.
    return {
        "hookId": "20240429205809GcSUXthVA00",
        "senderType": "NORMAL_SMS",
        "requestId": "20240429205802y0Tl7Gbz0e0",
        "recipientSeq": 1,
        "requestDate": "2024-04-29T20:58:02",
        "receiveDate": "2024-04-29T20:58:04",
        "sendNo": "15446859",
        "recipientNo": "01012341234",
        "messageStatus": status,
        "recipientGropuingKey": "gw-1",
        "senderGroupingKey": "SenderGroupingKey",
        "resultCode": code,
        "messageCount": 1,
        "_link": {"self": {"href": "https://sms.api.nhncloudservice.com/sms/v2.4/appKeys/k/sender/sms/x"}},
    } | changes


def test_documented_completed_hook_is_delivered() -> None:
    [receipt] = parse_callback(webhook_body(hook()))

    assert receipt.vendor == "nhn"
    assert receipt.event_id == "20240429205809GcSUXthVA00"
    assert receipt.outcome == "delivered"
    assert receipt.correlation_id == "gw-1"
    assert receipt.vendor_message_id == "20240429205802y0Tl7Gbz0e0"
    assert receipt.code == "1000"
    assert receipt.occurred_at == 1714391884.0


def test_correctly_spelt_grouping_key_is_read_too() -> None:
    [receipt] = parse_callback(webhook_body(hook(recipientGropuingKey=None, recipientGroupingKey="gw-9")))

    assert receipt.correlation_id == "gw-9"


def test_failed_hook_keeps_the_carrier_code() -> None:
    [receipt] = parse_callback(webhook_body(hook("FAILED", "3001")))

    assert (receipt.outcome, receipt.code) == ("failed", "3001")
    assert receipt.detail == "messageStatus FAILED"


def test_hook_without_a_final_status_is_progress() -> None:
    [receipt] = parse_callback(webhook_body(hook("SENDING", None)))

    assert (receipt.outcome, receipt.code) == ("progress", "SENDING")


def test_unsubscribe_events_carry_no_receipts() -> None:
    opt_out = {"hookId": "h", "recipientNo": "01012341234", "unsubscribeNo": "08012341234"}

    assert parse_callback(webhook_body(opt_out, event="UNSUBSCRIBE")) == []


def test_product_name_is_matched_without_case() -> None:
    assert len(parse_callback(webhook_body(hook(), product="Sms"))) == 1


@pytest.mark.parametrize("body", [b"", b"{", b'{"hooksId": "x", "productName": "SMS", "event": "E"}'])
def test_malformed_webhook_is_a_value_error(body: bytes) -> None:
    with pytest.raises(ValueError, match="NHN webhook"):
        parse_callback(body)


@pytest.mark.parametrize(
    ("status", "code", "outcome"),
    [
        ("COMPLETED", "1000", "delivered"),
        ("COMPLETED", "3003", "failed"),
        ("FAILED", "E915", "failed"),
        ("FAILED_AD", None, "failed"),
        ("CANCEL", None, "failed"),
        ("READY", None, "progress"),
    ],
)
def test_sms_statuses_map_to_receipt_outcomes(status: str, code: str | None, outcome: str) -> None:
    assert sms_outcome(status, code) == outcome


def emulated() -> tuple[NhnSmsAdapter, NhnSmsEmulator, httpx.AsyncClient]:
    emulator = NhnSmsEmulator(CONFIG)
    return NhnSmsAdapter(CONFIG), emulator, httpx.AsyncClient(transport=EmulatorTransport([emulator]))


async def test_round_trip_through_the_emulator_is_accepted_and_reported() -> None:
    adapter, emulator, client = emulated()
    emulator.outcomes["01012345678"] = "3001"
    async with client:
        result = await send(client, adapter, adapter.build(lms(), "gw-1"))

    assert isinstance(result.outcome, Accepted)
    [callback] = emulator.pending_callbacks(signature="sig")
    [receipt] = parse_any_nhn_callback(callback.body)
    assert (receipt.outcome, receipt.code, receipt.correlation_id) == ("failed", "3001", "gw-1")
    assert receipt.vendor_message_id == result.outcome.vendor_message_id


async def test_503_twice_then_success() -> None:
    adapter, emulator, client = emulated()
    emulator.script(Fault(http_status=503), Fault(http_status=503))
    request = adapter.build(lms(), "gw-1")
    async with client:
        results = [await send(client, adapter, request) for _ in range(3)]

    assert [type(r.outcome) for r in results] == [Retryable, Retryable, Accepted]
    assert len(emulator.pending_callbacks(signature="sig")) == 1


async def test_a_read_timeout_is_uncertain() -> None:
    adapter, emulator, client = emulated()
    emulator.script(Fault(timeout=True))
    async with client:
        result = await send(client, adapter, adapter.build(lms(), "gw-1"))

    assert result.outcome == Uncertain("timeout", "ReadTimeout after sending")


async def test_emoji_left_in_the_text_is_refused_permanently() -> None:
    adapter, _, client = emulated()
    async with client:
        result = await send(client, adapter, adapter.build(lms(content=AD_CONTENT + "🎉"), "gw-1"))

    assert result.outcome == Permanent("-2023", "Unacceptable characters in title and body")


async def test_ad_text_without_the_opt_out_line_is_refused_permanently() -> None:
    adapter, _, client = emulated()
    async with client:
        result = await send(client, adapter, adapter.build(lms(content="(광고)와디즈\n오늘의 베스트"), "gw-1"))

    assert result.outcome == Permanent("-6003", "The body must contain block guide ment.")


def test_an_unreadable_2xx_is_uncertain_and_looked_up_since_sms_documents_no_idempotency_key() -> None:
    outcome = NhnSmsAdapter(CONFIG).classify(response(200, b"<html>proxy</html>"))

    assert outcome == Uncertain("malformed-response", "HTTP 200 with an unreadable body")


def test_a_request_that_failed_is_classified_by_the_recipients_own_code() -> None:
    answer = nhn_answer(recipient_code=-4019, message="Invalid recipient number.")
    answer["body"]["data"]["statusCode"] = "3"

    outcome = NhnSmsAdapter(CONFIG).classify(response(200, answer))

    assert outcome == Permanent("-4019", "Invalid recipient number.")


def test_a_request_that_failed_without_a_recipients_reason_sent_nothing_and_is_tried_again() -> None:
    answer = nhn_answer()
    answer["body"]["data"]["statusCode"] = "3"

    outcome = NhnSmsAdapter(CONFIG).classify(response(200, answer))

    assert isinstance(outcome, Retryable)
    assert outcome.code == "request-failed"


THREE = items(lms(phone="01011110001"), lms(phone="01011110002"), lms(phone="01011110003"))


def test_a_batch_is_one_title_and_body_with_a_recipient_per_message_in_order() -> None:
    request = NhnSmsAdapter(CONFIG).build_batch(THREE)

    assert request.url == f"{BASE}/ad-mms"
    assert request.json == {
        "title": "실시간 베스트",
        "body": AD_CONTENT,
        "sendNo": "15446859",
        "recipientList": [{"recipientNo": f"0101111000{i}", "recipientGroupingKey": f"gw-{i}"} for i in (1, 2, 3)],
    }
    assert request.headers["X-NC-API-IDEMPOTENCY-KEY"] not in {"key-1", "key-2", "key-3"}


def test_a_single_send_is_the_one_message_batch() -> None:
    adapter = NhnSmsAdapter(CONFIG)

    assert adapter.build(lms(), "gw-1", send_key="key-1") == adapter.build_batch(
        [BatchItem(message=lms(), message_id="gw-1", send_key="key-1")]
    )


def test_messages_batch_only_with_one_endpoint_title_and_body() -> None:
    adapter = NhnSmsAdapter(CONFIG)
    key = adapter.batch_key(lms())

    assert adapter.batch_key(lms(phone="01099998888", user_id="other")) == key
    assert adapter.batch_key(lms(subject="다른 제목")) != key
    assert adapter.batch_key(lms(content=AD_CONTENT + " ")) != key
    assert adapter.batch_key(lms(ad=False)) != key
    assert adapter.batch_key(lms(phone=None)) is None
    assert NhnSmsAdapter.max_batch == 1000
    assert isinstance(adapter, BatchAdapter)
    with pytest.raises(ValueError, match="one content"):
        adapter.build_batch(items(lms(), lms(subject="다른 제목")))


def batch_answer(*results: tuple[str, int], status_code: str = "2") -> dict[str, Any]:
    """An LMS answer with (recipientGroupingKey, resultCode) per recipient, in the order given."""
    result_list = [
        {
            "recipientNo": "0101111000" + key[-1],
            "resultCode": code,
            "resultMessage": f"code {code}",
            "recipientSeq": int(key[-1]),
            "recipientGroupingKey": key,
        }
        for key, code in results
    ]
    data = {"requestId": "r-1", "statusCode": status_code, "sendResultList": result_list}
    return {"header": {"isSuccessful": True, "resultCode": 0, "resultMessage": "SUCCESS"}, "body": {"data": data}}


def test_a_partly_failed_batch_settles_each_message_by_its_own_result() -> None:
    answer = batch_answer(("gw-2", -2019), ("gw-3", 0), ("gw-1", 0))

    outcomes = NhnSmsAdapter(CONFIG).classify_batch(response(200, answer), THREE)

    assert outcomes == [
        Accepted("r-1", "0", "SUCCESS"),
        Permanent("-2019", "code -2019"),
        Accepted("r-1", "0", "SUCCESS"),
    ]


def test_a_message_the_answer_does_not_give_is_uncertain() -> None:
    outcomes = NhnSmsAdapter(CONFIG).classify_batch(response(200, batch_answer(("gw-1", 0), ("gw-3", 0))), THREE)

    assert [type(o) for o in outcomes] == [Accepted, Uncertain, Accepted]


def test_a_request_that_failed_retries_those_without_a_reason_of_their_own() -> None:
    answer = batch_answer(("gw-1", -2019), ("gw-2", 0), ("gw-3", 0), status_code="3")

    outcomes = NhnSmsAdapter(CONFIG).classify_batch(response(200, answer), THREE)

    assert [type(o) for o in outcomes] == [Permanent, Retryable, Retryable]


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (200, nhn_answer(-2312, message="Not regist sendno."), Permanent),
        (200, nhn_answer(-9999, message="System error."), Retryable),
        (500, b"", Retryable),
        (200, b"{", Uncertain),
    ],
)
def test_a_failed_request_is_every_messages_outcome(status: int, body: Any, kind: type) -> None:
    outcomes = NhnSmsAdapter(CONFIG).classify_batch(response(status, body), THREE)

    assert_same_for_all(outcomes, 3, kind)


async def test_round_trip_batch_with_a_bad_number_then_each_sent_one_reported_and_found() -> None:
    adapter, emulator, client = emulated()
    emulator.outcomes["01011110003"] = "3001"
    batch = items(lms(phone="01011110001"), lms(phone="0101"), lms(phone="01011110003"))
    async with client:
        result = await send_batch(client, adapter, adapter.build_batch(batch), batch)
        found = await look_up_each(sms_lookup(CONFIG), client, batch)

    first, second, third = result.outcomes
    assert isinstance(first, Accepted)
    assert isinstance(third, Accepted)
    assert second == Permanent("-2019", "RecipientNo is invalid.")
    receipts = [r for c in emulator.pending_callbacks(signature="sig") for r in parse_any_nhn_callback(c.body)]
    assert {(r.correlation_id, r.outcome, r.code) for r in receipts} == {
        ("gw-1", "delivered", "1000"),
        ("gw-3", "failed", "3001"),
    }
    assert [type(f) for f in found] == [Found, NotFound, Found]


async def test_emulator_takes_at_most_1000_recipients_a_request() -> None:
    adapter, _, client = emulated()
    batch = [BatchItem(message=lms(phone=f"0101{i:07d}"), message_id=f"gw-{i}", send_key=f"k-{i}") for i in range(1001)]
    async with client:
        result = await send_batch(client, adapter, adapter.build_batch(batch), batch)

    assert set(result.outcomes) == {Permanent("-2016", "The max recipient size is 1000.")}
