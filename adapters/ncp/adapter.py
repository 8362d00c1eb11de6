"""Naver Cloud SENS SMS API v2: LMS sending, and result polling (SENS calls nobody back for SMS).

Checked against NAVER Cloud's API docs and SDK models (docs/vendors.md, "Naver Cloud SENS"): every call is signed
with ``x-ncp-apigw-signature-v2`` (base64 HMAC-SHA256 of ``"{method} {uri}\\n{timestamp}\\n{accessKey}"`` with the
secret key) next to ``x-ncp-apigw-timestamp`` (milliseconds) and ``x-ncp-iam-access-key``. Sending is
``POST /sms/v2/services/{serviceId}/messages`` with ``type``, ``contentType`` (``COMM``/``AD``), ``countryCode``,
``from``, ``subject``, ``content`` and ``messages[{to}]``, answered ``202 {requestId, requestTime, statusCode,
statusName}``. Results: ``GET …/messages?requestId=`` lists the request's ``messageId``s, and
``GET …/messages/{messageId}`` gives each one's ``status`` (READY, PROCESSING, COMPLETED) and, once completed,
``statusCode`` (``0`` success), ``statusName`` (success/fail), ``statusMessage`` and ``completeTime``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

import httpx
import msgspec

from adapters.base import (
    RETRYABLE_HTTP,
    VendorRequest,
    VendorResponse,
    header_value,
    parse_korean_time,
    parse_retry_after,
)
from adapters.contract import (
    OUTCOME_REASONS,
    Accepted,
    Channel,
    OutboundMessage,
    Outcome,
    Permanent,
    Reason,
    Receipt,
    ReceiptOutcome,
    Retryable,
)
from adapters.ncp.config import NcpConfig
from adapters.spec import Poll, PollTarget

__all__ = (
    "ACCESS_KEY_HEADER",
    "CODE_TEXT",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "NcpLmsAdapter",
    "parse_request",
    "parse_result",
    "result_poll",
    "sign",
)

TIMESTAMP_HEADER = "x-ncp-apigw-timestamp"
ACCESS_KEY_HEADER = "x-ncp-iam-access-key"
SIGNATURE_HEADER = "x-ncp-apigw-signature-v2"
#: Plain words for support staff (Korean, then English) for the codes this adapter reports.
CODE_TEXT = {
    "202": "SENS가 접수함 · accepted by SENS",
    "0": "휴대폰에 전달됨 · delivered to the phone",
    "READY": "SENS에서 발송 대기 중 · waiting at SENS",
    "PROCESSING": "통신사로 보내는 중 · being handed to the carrier",
    # The API gateway's code for a refused signature (HTTP 401).
    "200": "SENS가 서명을 거부함: 액세스 키와 시크릿 키 확인 필요 · SENS refused the signature: check the keys",
}
#: ``status`` of a message SENS has finished with; READY and PROCESSING come before it.
COMPLETED = "COMPLETED"


def sign(secret_key: str, method: str, uri: str, timestamp: str, access_key: str) -> str:
    """The ``x-ncp-apigw-signature-v2`` of a request: ``uri`` is its path with the query string."""
    message = f"{method} {uri}\n{timestamp}\n{access_key}".encode()
    return base64.b64encode(hmac.new(secret_key.encode(), message, hashlib.sha256).digest()).decode()


class _Api:
    """The service's base URL and signed headers, shared by sending and polling."""

    def __init__(self, config: NcpConfig, clock: Callable[[], float]) -> None:
        self._config = config
        self._clock = clock
        base = urlsplit(config.url.rstrip("/"))
        #: The path requests are signed with: a base URL with a path (a test double's) keeps it.
        self.messages_path = f"{base.path}/sms/v2/services/{quote(config.service_id, safe=':')}/messages"
        self._origin = f"{base.scheme}://{base.netloc}"

    def url(self, uri: str) -> str:
        return self._origin + uri

    def headers(self, method: str, uri: str) -> dict[str, str]:
        timestamp = str(int(self._clock() * 1000))
        return {
            TIMESTAMP_HEADER: timestamp,
            ACCESS_KEY_HEADER: self._config.access_key,
            SIGNATURE_HEADER: sign(self._config.secret_key, method, uri, timestamp, self._config.access_key),
        }


class NcpLmsAdapter:
    """LMS through SENS; an advertising message is sent as ``contentType: AD``.

    The text is final (the LMS channel rules put the ``(광고)`` prefix and the opt-out line in); SENS has no
    correlation field, so receipts are matched by its ``requestId``.
    """

    vendor: ClassVar[str] = "ncp"
    channel: ClassVar[Channel] = "lms"
    # SENS takes no idempotency key.
    idempotent: ClassVar[bool] = False

    def __init__(self, config: NcpConfig, *, clock: Callable[[], float] = time.time) -> None:
        self._config = config
        self._api = _Api(config, clock)

    def build(self, message: OutboundMessage, message_id: str, *, send_key: str | None = None) -> VendorRequest:
        """Build the send request (SENS honours no idempotency key, so ``send_key`` is unused)."""
        if not message.phone:
            raise ValueError("an LMS needs a phone number")
        body: dict[str, Any] = {
            "type": "LMS",
            "contentType": "AD" if message.ad else "COMM",
            "countryCode": "82",
            "from": self._config.send_no,
            "content": message.content,
            "messages": [{"to": message.phone}],
        }
        if message.subject:
            body["subject"] = message.subject
        uri = self._api.messages_path
        headers = {"Content-Type": "application/json; charset=utf-8", **self._api.headers("POST", uri)}
        return VendorRequest(
            method="POST",
            url=self._api.url(uri),
            headers=headers,
            json=body,
            secret_headers=(ACCESS_KEY_HEADER, SIGNATURE_HEADER),
        )

    def classify(self, response: VendorResponse) -> Outcome:
        """``202`` with a ``requestId`` is accepted; 408, 429 and 5xx retryable; any other answer permanent."""
        if response.status in RETRYABLE_HTTP or response.status >= 500:
            code, detail = _error(response)
            return Retryable(code, detail, parse_retry_after(header_value(response.headers, "Retry-After")))
        if not 200 <= response.status < 300:
            return Permanent(*_error(response))
        try:
            sent = msgspec.json.decode(response.body, type=_Sent)
        except (msgspec.DecodeError, msgspec.ValidationError):
            sent = None
        if sent is None or not sent.request_id:
            # SENS takes no idempotency key: sending again could send twice, so the message ends unknown instead.
            detail = f"HTTP {response.status} with an unreadable body: taken as sent rather than risk sending twice"
            return Accepted(None, "malformed-response", detail)
        if sent.status_name != "success":
            return Permanent(sent.status_code, sent.status_name)
        return Accepted(sent.request_id, sent.status_code, sent.status_name)


class _Sent(msgspec.Struct, frozen=True, rename="camel"):
    request_id: str = ""
    status_code: str = ""
    status_name: str = ""


class _ErrorDetail(msgspec.Struct, frozen=True, rename="camel"):
    error_code: str = ""
    message: str = ""
    details: str = ""


class _Error(msgspec.Struct, frozen=True, rename="camel"):
    error: _ErrorDetail | None = None
    # SENS's own validation errors answer with these instead of the API gateway's ``error`` object.
    status: str | int | None = None
    error_message: str = ""


def _error(response: VendorResponse) -> tuple[str, str]:
    """The code and text of an error answer; the HTTP status when the body says nothing readable."""
    try:
        error = msgspec.json.decode(response.body, type=_Error, strict=False)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return f"http-{response.status}", f"HTTP {response.status}"
    if error.error is not None and (error.error.error_code or error.error.message):
        detail = ": ".join(part for part in (error.error.message, error.error.details) if part)
        return error.error.error_code or f"http-{response.status}", detail
    return f"http-{response.status}", error.error_message or f"HTTP {response.status}"


class _Listed(msgspec.Struct, frozen=True, rename="camel"):
    message_id: str


class _Listing(msgspec.Struct, frozen=True, rename="camel"):
    messages: list[_Listed] = msgspec.field(default_factory=list)


class _Result(msgspec.Struct, frozen=True, rename="camel"):
    message_id: str
    status: str = ""
    status_code: str | None = None
    status_name: str | None = None
    status_message: str | None = None
    request_time: str | None = None
    complete_time: str | None = None


class _Results(msgspec.Struct, frozen=True, rename="camel"):
    messages: list[_Result] = msgspec.field(default_factory=list)


def parse_request(body: bytes) -> list[str]:
    """The ``messageId``s of a request lookup (``GET …/messages?requestId=``).

    Raises:
        ValueError: The body is not a request lookup answer.
    """
    try:
        return [listed.message_id for listed in msgspec.json.decode(body, type=_Listing, strict=False).messages]
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise ValueError(f"malformed SENS request lookup: {exc}") from exc


def parse_result(body: bytes, *, request_id: str, message_id: str) -> list[Receipt]:
    """The receipts of a result lookup (``GET …/messages/{messageId}``), one per message and status.

    Args:
        body: The answer.
        request_id: The send's ``requestId`` (our record's vendor message id).
        message_id: Our message id, which SENS does not carry.

    Raises:
        ValueError: The body is not a result lookup answer.
    """
    try:
        results = msgspec.json.decode(body, type=_Results, strict=False).messages
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise ValueError(f"malformed SENS result lookup: {exc}") from exc
    return [_receipt(result, request_id=request_id, message_id=message_id) for result in results]


def _receipt(result: _Result, *, request_id: str, message_id: str) -> Receipt:
    outcome = _outcome(result)
    code = result.status_code if result.status == COMPLETED else result.status or None
    detail = " ".join(part for part in (result.status_name, result.status_message) if part) or result.status
    return Receipt(
        vendor="ncp",
        # A message goes READY -> PROCESSING -> COMPLETED; each status (and result) is its own event.
        event_id=f"{result.message_id}-{result.status}-{result.status_code or ''}",
        outcome=outcome,
        # SENS publishes no result-code table the gateway could read more into than "failed".
        reason=OUTCOME_REASONS.get(outcome, Reason.OTHER),
        correlation_id=message_id,
        vendor_message_id=request_id,
        code=code,
        detail=detail,
        occurred_at=parse_korean_time(result.complete_time or result.request_time),
    )


def _outcome(result: _Result) -> ReceiptOutcome:
    if result.status != COMPLETED:
        return "progress"
    return "delivered" if result.status_code == "0" or result.status_name == "success" else "failed"


def result_poll(config: NcpConfig, *, clock: Callable[[], float] = time.time) -> Poll:
    """The lookup of one accepted LMS: the request's messages, then each one's result."""
    api = _Api(config, clock)

    async def get(client: httpx.AsyncClient, uri: str) -> bytes:
        response = await client.get(api.url(uri), headers=api.headers("GET", uri))
        if response.status_code != httpx.codes.OK:
            raise ValueError(f"SENS answered a lookup with HTTP {response.status_code}")
        return response.content

    async def poll(client: httpx.AsyncClient, target: PollTarget) -> list[Receipt]:
        request_id = target.vendor_message_id
        if not request_id:
            # No request id (an unreadable acceptance) and no correlation field: nothing to ask; it ends unknown.
            return []
        listing = await get(client, f"{api.messages_path}?requestId={quote(request_id, safe='')}")
        receipts: list[Receipt] = []
        for message_id in parse_request(listing):
            result = await get(client, f"{api.messages_path}/{quote(message_id, safe='')}")
            receipts += parse_result(result, request_id=request_id, message_id=target.message_id)
        return receipts

    return poll
