"""SENS requests, answers and result lookups, field by field (docs/vendors.md, "Naver Cloud SENS")."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime

import httpx
import msgspec
import pytest
import respx

from adapters.base import VendorResponse
from adapters.codes import explain_code
from adapters.contract import Accepted, OutboundMessage, Permanent, Reason, Retryable
from adapters.ncp.adapter import NcpLmsAdapter, parse_request, parse_result, result_poll
from adapters.ncp.config import NcpConfig
from adapters.spec import PollTarget

CONFIG = NcpConfig(
    url="https://sens.test",
    access_key="AK-1",
    secret_key="SK-1",
    service_id="ncp:sms:kr:1234:svc",
    send_no="0212345678",
)
NOW = 1_764_212_400.0
PATH = "/sms/v2/services/ncp:sms:kr:1234:svc/messages"
LMS = OutboundMessage(channel="lms", user_id="u-1", content="서포터님, 지금 확인해 보세요.", phone="01098765432")


def expected_signature(method: str, uri: str, timestamp: str) -> str:
    """The documented v2 signature, computed here independently of the adapter."""
    message = f"{method} {uri}\n{timestamp}\nAK-1"
    return base64.b64encode(hmac.new(b"SK-1", message.encode(), hashlib.sha256).digest()).decode()


def test_an_lms_is_posted_to_the_service_s_messages_with_the_documented_fields() -> None:
    request = NcpLmsAdapter(CONFIG, clock=lambda: NOW).build(msgspec.structs.replace(LMS, subject="안내"), "m-1")

    assert (request.method, request.url) == ("POST", f"https://sens.test{PATH}")
    assert request.json == {
        "type": "LMS",
        "contentType": "COMM",
        "countryCode": "82",
        "from": "0212345678",
        "subject": "안내",
        "content": "서포터님, 지금 확인해 보세요.",
        "messages": [{"to": "01098765432"}],
    }


def test_every_request_is_signed_with_the_timestamp_the_access_key_and_the_hmac() -> None:
    request = NcpLmsAdapter(CONFIG, clock=lambda: NOW).build(LMS, "m-1")

    timestamp = str(int(NOW * 1000))
    assert request.headers["x-ncp-apigw-timestamp"] == timestamp
    assert request.headers["x-ncp-iam-access-key"] == "AK-1"
    assert request.headers["x-ncp-apigw-signature-v2"] == expected_signature("POST", PATH, timestamp)
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"
    assert request.redacted()["headers"]["x-ncp-apigw-signature-v2"] == "[redacted]"
    assert request.redacted()["headers"]["x-ncp-iam-access-key"] == "[redacted]"


def test_a_base_url_with_a_path_is_signed_with_that_path() -> None:
    config = msgspec.structs.replace(CONFIG, url="http://127.0.0.1:9000/sens/")
    request = NcpLmsAdapter(config, clock=lambda: NOW).build(LMS, "m-1")

    assert request.url == f"http://127.0.0.1:9000/sens{PATH}"
    timestamp = request.headers["x-ncp-apigw-timestamp"]
    assert request.headers["x-ncp-apigw-signature-v2"] == expected_signature("POST", f"/sens{PATH}", timestamp)


def test_an_advertising_lms_is_sent_as_ad_with_its_text_as_given_and_no_subject_when_none() -> None:
    text = "(광고)와디즈\n서포터님, 지금 확인해 보세요.\n무료거부 080-123-4567"
    request = NcpLmsAdapter(CONFIG).build(msgspec.structs.replace(LMS, content=text, ad=True), "m-1")

    assert request.json["contentType"] == "AD"
    assert request.json["content"] == text
    assert "subject" not in request.json


def test_a_message_without_a_phone_cannot_be_built() -> None:
    with pytest.raises(ValueError, match="phone"):
        NcpLmsAdapter(CONFIG).build(msgspec.structs.replace(LMS, phone=None), "m-1")


def answer(status: int, body: object, **headers: str) -> VendorResponse:
    return VendorResponse(status, headers, msgspec.json.encode(body))


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (
            answer(
                202,
                {
                    "requestId": "R-1",
                    "requestTime": "2026-12-04T10:00:00",
                    "statusCode": "202",
                    "statusName": "success",
                },
            ),
            Accepted("R-1", "202", "success"),
        ),
        (answer(429, {}, **{"Retry-After": "7"}), Retryable("http-429", "HTTP 429", 7.0)),
        (
            answer(503, {"error": {"errorCode": "503", "message": "Service Unavailable"}}),
            Retryable("503", "Service Unavailable"),
        ),
        (
            answer(401, {"error": {"errorCode": "200", "message": "Authentication Failed", "details": "Invalid."}}),
            Permanent("200", "Authentication Failed: Invalid."),
        ),
        (
            answer(400, {"status": 400, "errorMessage": "from is not registered"}),
            Permanent("http-400", "from is not registered"),
        ),
        (VendorResponse(404, {}, b"<html>"), Permanent("http-404", "HTTP 404")),
    ],
)
def test_answers_are_classified(response: VendorResponse, expected: object) -> None:
    assert NcpLmsAdapter(CONFIG).classify(response) == expected


def test_an_unreadable_acceptance_is_taken_as_sent_since_sens_has_no_idempotency_key() -> None:
    outcome = NcpLmsAdapter(CONFIG).classify(VendorResponse(202, {}, b"not json"))

    assert isinstance(outcome, Accepted)
    assert (outcome.vendor_message_id, outcome.code) == (None, "malformed-response")


def result(status: str, code: str | None, name: str | None, message: str | None = None) -> bytes:
    entry = {
        "requestId": "R-1",
        "messageId": "M-1",
        "requestTime": "2026-12-04 10:00:00",
        "status": status,
        "statusCode": code,
        "statusName": name,
        "statusMessage": message,
        "completeTime": "2026-12-04 10:00:05" if status == "COMPLETED" else None,
    }
    return msgspec.json.encode({"statusCode": "200", "statusName": "success", "messages": [entry]})


def test_a_completed_success_is_delivered_with_its_kst_completion_time() -> None:
    [receipt] = parse_result(result("COMPLETED", "0", "success", "성공"), request_id="R-1", message_id="m-1")

    assert (receipt.vendor, receipt.outcome, receipt.reason, receipt.code) == (
        "ncp",
        "delivered",
        Reason.DELIVERED,
        "0",
    )
    assert (receipt.correlation_id, receipt.vendor_message_id, receipt.event_id) == ("m-1", "R-1", "M-1-COMPLETED-0")
    assert receipt.occurred_at == datetime(2026, 12, 4, 1, 0, 5, tzinfo=UTC).timestamp()  # 10:00:05 KST
    assert receipt.detail == "success 성공"


def test_a_completed_failure_fails_with_sens_s_code_and_a_pending_one_is_progress() -> None:
    [failed] = parse_result(result("COMPLETED", "3015", "fail", "수신 거부"), request_id="R-1", message_id="m-1")
    [pending] = parse_result(result("PROCESSING", None, None), request_id="R-1", message_id="m-1")

    assert (failed.outcome, failed.reason, failed.code, failed.detail) == (
        "failed",
        Reason.OTHER,
        "3015",
        "fail 수신 거부",
    )
    assert (pending.outcome, pending.reason, pending.code) == ("progress", Reason.PENDING, "PROCESSING")
    assert failed.event_id != pending.event_id


def test_malformed_lookups_are_errors() -> None:
    with pytest.raises(ValueError, match="request lookup"):
        parse_request(b"[]")
    with pytest.raises(ValueError, match="result lookup"):
        parse_result(b"{", request_id="R-1", message_id="m-1")


@respx.mock
async def test_a_poll_lists_the_request_s_messages_then_reads_each_result_with_signed_gets() -> None:
    listing = respx.get(f"https://sens.test{PATH}", params={"requestId": "R-1"}).respond(
        200, json={"requestId": "R-1", "statusCode": "200", "statusName": "success", "messages": [{"messageId": "M-1"}]}
    )
    lookup = respx.get(f"https://sens.test{PATH}/M-1").respond(200, content=result("COMPLETED", "0", "success"))
    poll = result_poll(CONFIG, clock=lambda: NOW)

    async with httpx.AsyncClient() as client:
        receipts = await poll(client, PollTarget(message_id="m-1", vendor_message_id="R-1", created_at=NOW, now=NOW))

    assert [(r.outcome, r.correlation_id) for r in receipts] == [("delivered", "m-1")]
    timestamp = str(int(NOW * 1000))
    sent = listing.calls.last.request
    assert sent.headers["x-ncp-apigw-signature-v2"] == expected_signature("GET", f"{PATH}?requestId=R-1", timestamp)
    assert lookup.calls.last.request.headers["x-ncp-apigw-signature-v2"] == expected_signature(
        "GET", f"{PATH}/M-1", timestamp
    )


@respx.mock
async def test_a_refused_lookup_is_an_error_and_a_message_without_request_id_is_not_asked_about() -> None:
    respx.get(f"https://sens.test{PATH}").respond(401, json={"error": {"errorCode": "200"}})
    poll = result_poll(CONFIG)

    async with httpx.AsyncClient() as client:
        with pytest.raises(ValueError, match="401"):
            await poll(client, PollTarget(message_id="m-1", vendor_message_id="R-1", created_at=NOW, now=NOW))
        assert await poll(client, PollTarget(message_id="m-1", vendor_message_id=None, created_at=NOW, now=NOW)) == []


def test_the_codes_sens_reports_are_explained_for_support() -> None:
    assert "delivered" in (explain_code("ncp", "lms", "0") or "")
    assert "check the keys" in (explain_code("ncp", "lms", "200") or "")
    assert explain_code("ncp", "kakao", "0") is None
