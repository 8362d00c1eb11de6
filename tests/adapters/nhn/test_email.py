from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import msgspec
import pytest

from adapters.base import VendorResponse, send
from adapters.contract import Accepted, Permanent, Retryable, Uncertain
from adapters.emulator import EmulatorTransport, Fault
from adapters.nhn.config import NhnEmailConfig
from adapters.nhn.email import NhnEmailAdapter, email_outcome, parse_result_query
from adapters.nhn.emulator_email import NhnEmailEmulator
from gateway.models import OutboundMessage

CONFIG = NhnEmailConfig(
    appkey="mail-appkey", secret="mail-secret", sender_address="no-reply@wadiz.kr", sender_name="와디즈"
)
BASE = "https://email.api.nhncloudservice.com/email/v2.1/appKeys/mail-appkey/sender"
HTML = (
    "<p>서포터님,</p><p>헤어케어 카테고리에서 지금 가장 핫한 프로젝트는?</p>"
    '<p><a href="https://www.wadiz.kr/web/campaign/detail/356850">지금 확인하기</a></p>'
)


def email(**changes: Any) -> OutboundMessage:
    fields: dict[str, Any] = {
        "channel": "email",
        "user_id": "u-20250610-0001",
        "email": "supporter@example.com",
        "subject": "실시간 베스트",
        "content": HTML,
        "text": "서포터님,\n헤어케어 카테고리에서 지금 가장 핫한 프로젝트는?",
    }
    return OutboundMessage(**(fields | changes))


def response(status: int, body: Any, headers: dict[str, str] | None = None) -> VendorResponse:
    raw = body if isinstance(body, bytes) else msgspec.json.encode(body)
    return VendorResponse(status, headers or {}, raw)


def send_answer(code: int = 0, *, results: list[tuple[str, int]] | None = None) -> dict[str, Any]:
    header = {"resultCode": code, "resultMessage": "success" if code in (0, 1000) else "failure"}
    header["isSuccessful"] = code in (0, 1000)
    if not header["isSuccessful"]:
        return {"header": header}
    rows = [
        {"receiveMailAddr": a, "receiveName": None, "receiveType": "MRT0", "resultCode": c, "resultMessage": "r"}
        for a, c in results or [("supporter@example.com", 0)]
    ]
    return {"header": header, "body": {"data": {"requestId": "20190101000000ABCDEFG0", "results": rows}}}


def test_html_email_builds_the_documented_request() -> None:
    request = NhnEmailAdapter(CONFIG).build(email(), "gw-1")

    assert request.method == "POST"
    assert request.url == f"{BASE}/mail"
    assert request.headers == {"Content-Type": "application/json;charset=UTF-8", "X-Secret-Key": "mail-secret"}
    assert request.secret_headers == ("X-Secret-Key",)
    assert request.json == {
        "senderAddress": "no-reply@wadiz.kr",
        "senderName": "와디즈",
        "title": "실시간 베스트",
        "body": HTML,
        "receiverList": [{"receiveMailAddr": "supporter@example.com", "receiveType": "MRT0"}],
        "senderGroupingKey": "gw-1",
    }


def test_advertising_email_goes_to_ad_mail_with_nhn_s_korean_and_english_opt_out_links() -> None:
    request = NhnEmailAdapter(CONFIG).build(email(ad=True, subject="(광고) 실시간 베스트"), "gw-1")

    assert request.url == f"{BASE}/ad-mail"
    assert request.json["title"] == "(광고) 실시간 베스트"
    assert request.json["body"].startswith(HTML)
    assert "##BLOCK_RECEIVER_LINK##" in request.json["body"]
    assert "##EN_BLOCK_RECEIVER_LINK##" in request.json["body"]


def test_an_advertising_body_with_its_own_opt_out_link_gets_no_second_one() -> None:
    content = f"{HTML}<p>##BLOCK_RECEIVER_LINK## ##EN_BLOCK_RECEIVER_LINK##</p>"
    request = NhnEmailAdapter(CONFIG).build(email(ad=True, subject="(광고) 베스트", content=content), "gw-1")

    assert request.json["body"] == content


async def test_advertising_email_round_trip_through_the_emulator() -> None:
    adapter = NhnEmailAdapter(CONFIG)
    async with httpx.AsyncClient(transport=EmulatorTransport([NhnEmailEmulator(CONFIG)])) as client:
        result = await send(client, adapter, adapter.build(email(ad=True, subject="(광고) 베스트"), "gw-ad"))

    assert isinstance(result.outcome, Accepted)


async def test_an_advertising_title_without_the_ad_mark_is_refused_with_2023() -> None:
    adapter = NhnEmailAdapter(CONFIG)
    async with httpx.AsyncClient(transport=EmulatorTransport([NhnEmailEmulator(CONFIG)])) as client:
        result = await send(client, adapter, adapter.build(email(ad=True, subject="베스트 (광고)"), "gw-ad"))

    assert result.outcome == Permanent("-2023", "(광고), (AD), or (広告) phrases must be placed in front of the title.")


def test_sender_name_is_left_out_when_not_configured() -> None:
    config = NhnEmailConfig(appkey="mail-appkey", secret="mail-secret", sender_address="no-reply@wadiz.kr")

    assert "senderName" not in NhnEmailAdapter(config).build(email(), "gw-1").json


def test_an_email_without_an_address_cannot_be_built() -> None:
    with pytest.raises(ValueError, match="address"):
        NhnEmailAdapter(CONFIG).build(email(email=None), "gw-1")


def test_success_is_accepted_with_nhns_request_id() -> None:
    assert NhnEmailAdapter(CONFIG).classify(response(200, send_answer())) == Accepted(
        "20190101000000ABCDEFG0", "0", "success"
    )


def test_partial_success_is_classified_by_the_failed_recipient() -> None:
    answer = send_answer(1000, results=[("supporter@example", -2011)])

    assert NhnEmailAdapter(CONFIG).classify(response(200, answer)) == Permanent("-2011", "r")


@pytest.mark.parametrize("code", [-1005, -9999])
def test_temporary_block_and_internal_error_are_retryable(code: int) -> None:
    assert NhnEmailAdapter(CONFIG).classify(response(200, send_answer(code))) == Retryable(str(code), "failure")


@pytest.mark.parametrize("code", [-1000, -1004, -2002, -2011, -2015])
def test_request_errors_are_permanent(code: int) -> None:
    assert NhnEmailAdapter(CONFIG).classify(response(200, send_answer(code))) == Permanent(str(code), "failure")


def test_429_with_retry_after_is_retryable() -> None:
    outcome = NhnEmailAdapter(CONFIG).classify(response(429, b"", {"Retry-After": "5"}))

    assert outcome == Retryable("http-429", "HTTP 429", 5.0)


def test_result_query_by_request_id() -> None:
    request = NhnEmailAdapter(CONFIG).build_result_query(request_id="20190101000000ABCDEFG0", message_id="gw-1")

    assert request.method == "GET"
    assert request.url.startswith(f"{BASE}/mails?")
    assert request.headers["X-Secret-Key"] == "mail-secret"
    assert request.secret_headers == ("X-Secret-Key",)
    assert parse_qs(urlsplit(request.url).query) == {
        "requestId": ["20190101000000ABCDEFG0"],
        "senderGroupingKey": ["gw-1"],
        "pageSize": ["100"],
    }


def test_result_query_by_our_id_uses_a_korean_time_window() -> None:
    request = NhnEmailAdapter(CONFIG).build_result_query(message_id="gw-1", since=1749513600.0, until=1749517200.0)

    assert parse_qs(urlsplit(request.url).query) == {
        "startSendDate": ["2025-06-10 09:00:00"],
        "endSendDate": ["2025-06-10 10:00:00"],
        "senderGroupingKey": ["gw-1"],
        "pageSize": ["100"],
    }


def test_result_query_needs_a_request_id_or_a_window() -> None:
    with pytest.raises(ValueError, match="request_id"):
        NhnEmailAdapter(CONFIG).build_result_query(message_id="gw-1")


def query_answer(*mails: dict[str, Any], successful: bool = True) -> bytes:
    header = {"isSuccessful": successful, "resultCode": 0 if successful else -1004, "resultMessage": "SUCCESS"}
    body = {"pageNum": 1, "pageSize": 100, "totalCount": len(mails), "data": list(mails)}
    return msgspec.json.encode({"header": header, "body": body})


def mail(status: str = "SST2", **changes: Any) -> dict[str, Any]:
    # NHN's documented example of one listed mail.
    return {
        "requestId": "20190101000000ABCDEFG0",
        "mailSeq": 0,
        "requestDate": "2019-01-01 00:00:00",
        "templateId": "Template",
        "templateName": "Template Name",
        "senderName": "Sender",
        "senderAddress": "sender@example.com",
        "title": "Title",
        "mailStatusCode": status,
        "mailStatusName": "발송 완료",
        "isReceived": True,
        "resultDate": "2019-01-01 00:00:05",
        "isOpened": True,
        "openedDate": "2019-01-01 00:00:00",
        "receiveMailAddr": "receiver@example.com",
        "receiveType": "MRT0",
        "receiveTypeName": "받는 사람",
        "receiveName": "Receiver",
        "senderGroupingKey": "gw-1",
        "dsnCode": "2.5.0",
        "dsnMessage": "SUCCESS",
    } | changes


def test_sent_mail_is_a_delivered_receipt() -> None:
    [receipt] = parse_result_query(query_answer(mail()))

    assert receipt.vendor == "nhn"
    assert receipt.event_id == "20190101000000ABCDEFG0-0-SST2"
    assert receipt.outcome == "delivered"
    assert receipt.correlation_id == "gw-1"
    assert receipt.vendor_message_id == "20190101000000ABCDEFG0"
    assert receipt.code == "SST2"
    assert receipt.detail == "발송 완료 (DSN 2.5.0)"
    # 00:00:05 KST is 15:00:05 UTC the day before.
    assert receipt.occurred_at == 1546268405.0
    # The address stays out of the receipt's text.
    assert "receiver@example.com" not in receipt.detail


def test_failed_mail_is_a_failed_receipt() -> None:
    [receipt] = parse_result_query(query_answer(mail("SST3", mailStatusName="발송 실패", dsnCode="5.1.1")))

    assert (receipt.outcome, receipt.code, receipt.detail) == ("failed", "SST3", "발송 실패 (DSN 5.1.1)")


def test_mail_still_being_sent_is_progress() -> None:
    [receipt] = parse_result_query(query_answer(mail("SST1", mailStatusName="발송 중", dsnCode=None)))

    assert (receipt.outcome, receipt.detail) == ("progress", "발송 중")


def test_empty_answer_has_no_receipts() -> None:
    assert parse_result_query(query_answer()) == []


def test_refused_query_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="refused"):
        parse_result_query(query_answer(successful=False))


@pytest.mark.parametrize("body", [b"", b"<html>", b'{"body": {}}'])
def test_malformed_query_answer_is_a_value_error(body: bytes) -> None:
    with pytest.raises(ValueError, match="malformed"):
        parse_result_query(body)


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        ("SST0", "progress"),
        ("SST1", "progress"),
        ("SST2", "delivered"),
        ("SST3", "failed"),
        ("SST5", "failed"),
        ("SST7", "failed"),
        ("SST8", "failed"),
        ("SST9", "progress"),
    ],
)
def test_mail_statuses_map_to_receipt_outcomes(status: str, outcome: str) -> None:
    assert email_outcome(status) == outcome


def emulated() -> tuple[NhnEmailAdapter, NhnEmailEmulator, httpx.AsyncClient]:
    emulator = NhnEmailEmulator(CONFIG)
    return NhnEmailAdapter(CONFIG), emulator, httpx.AsyncClient(transport=EmulatorTransport([emulator]))


async def test_round_trip_send_then_poll_the_result() -> None:
    adapter, emulator, client = emulated()
    emulator.outcomes["bounce@example.com"] = "SST3"
    async with client:
        sent = await send(client, adapter, adapter.build(email(email="bounce@example.com"), "gw-1"))
        assert isinstance(sent.outcome, Accepted)
        query = adapter.build_result_query(request_id=sent.outcome.vendor_message_id, message_id="gw-1")
        answer = await client.request(query.method, query.url, headers=query.headers)

    [receipt] = parse_result_query(answer.content)
    assert (receipt.outcome, receipt.code, receipt.correlation_id) == ("failed", "SST3", "gw-1")
    assert receipt.vendor_message_id == sent.outcome.vendor_message_id


async def test_503_twice_then_success() -> None:
    adapter, emulator, client = emulated()
    emulator.script(Fault(http_status=503), Fault(http_status=503))
    request = adapter.build(email(), "gw-1")
    async with client:
        results = [await send(client, adapter, request) for _ in range(3)]

    assert [type(r.outcome) for r in results] == [Retryable, Retryable, Accepted]


async def test_a_read_timeout_is_uncertain() -> None:
    adapter, emulator, client = emulated()
    emulator.script(Fault(timeout=True))
    async with client:
        result = await send(client, adapter, adapter.build(email(), "gw-1"))

    assert result.outcome == Uncertain("timeout", "ReadTimeout after sending")


async def test_temporary_block_from_the_emulator_is_retryable() -> None:
    adapter, emulator, client = emulated()
    emulator.script(Fault(vendor_code="-1005"))
    async with client:
        result = await send(client, adapter, adapter.build(email(), "gw-1"))

    assert result.outcome == Retryable("-1005", "Service is temporarily blocked")


async def test_missing_subject_is_refused_permanently() -> None:
    adapter, _, client = emulated()
    async with client:
        result = await send(client, adapter, adapter.build(email(subject=None), "gw-1"))

    assert result.outcome == Permanent("-2015", "The 'title' is required.")


def test_an_unreadable_2xx_is_uncertain_and_looked_up_since_nhn_email_has_no_idempotency_key() -> None:
    outcome = NhnEmailAdapter(CONFIG).classify(response(200, b"<html>proxy</html>"))

    assert outcome == Uncertain("malformed-response", "HTTP 200 with an unreadable body")
