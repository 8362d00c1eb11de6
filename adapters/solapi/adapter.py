"""Solapi: KakaoTalk brand message free-form (``BMS_FREE``), ``LMS``, and Solapi's delivery reports.

Verified against Solapi's official SDKs and docs (github.com/solapi/solapi-python, solapi-nodejs, documents):
the ``Authorization: HMAC-SHA256 apiKey=, date=, salt=, signature=`` header and its 403 error codes
(documents ``authentication/api-key.md``); the send-many/detail answer ``{"groupInfo", "failedMessageList",
"messageList"}``, where ``messageList`` (``messageId``, ``statusCode``, ``statusMessage``, ``customFields``) only
comes with ``showMessageList: true`` (nodejs ``models/responses/sendManyDetailResponse.ts``); BMS buttons
``linkType``/``name``/``linkMobile``/``linkPc`` (nodejs ``models/base/kakao/bms/bmsButton.ts``); 4xx error bodies
``{"errorCode", "errorMessage"}`` (nodejs ``lib/defaultFetcher.ts``); the single-report webhook body (python
``model/webhook/single_report.py``); status codes (documents ``api-reference/message-status-codes.md``).

Images: a BMS ``IMAGE`` bubble carries ``kakaoOptions.bms.imageId``, the ``fileId`` of an image uploaded to
Solapi's storage with file type ``BMS`` (python ``examples/simple/send_bms_free_image.py``, nodejs
``examples/javascript/common/src/kakao/send/send_bms_free_image.js``; the upload is :mod:`adapters.solapi.images`),
and optionally ``imageLink``, where a tap on the image goes. The dispatcher puts that ``fileId`` in the message's
``image_url`` before the build (``gateway/images/uploads.py``). The IMAGE bubble's content and button limits are
the TEXT bubble's (nodejs ``models/base/kakao/bms/bmsConstraints.ts``: 1,300 characters, 99 line breaks, 5 buttons
of ≤ 14 characters without a coupon). Solapi requests are signed with a fresh date and salt, so a retry must
rebuild the request.

Batches (docs/vendors.md, "Solapi", "Batches"): one send-many/detail request takes up to 10,000 messages, each with
its own text, so any messages of a channel share a request; each carries our id in ``customFields.gatewayId``, and
the answer's ``failedMessageList`` and ``messageList`` entries (both carry ``customFields``, nodejs
``models/responses/sendManyDetailResponse.ts``) settle each message by its own result.
"""

from __future__ import annotations

import abc
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Hashable, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar

import msgspec

from adapters.base import RETRYABLE_HTTP, VendorRequest, VendorResponse, header_value, parse_retry_after
from adapters.batch import BatchItem
from adapters.contract import (
    OUTCOME_REASONS,
    Accepted,
    Button,
    Channel,
    OutboundMessage,
    Outcome,
    Permanent,
    Reason,
    Receipt,
    ReceiptOutcome,
    Retryable,
    Uncertain,
)
from adapters.solapi.config import SolapiConfig

__all__ = (
    "CODE_TEXT",
    "SEND_PATH",
    "SOLAPI_KAKAO_UNDELIVERABLE",
    "SolapiKakaoAdapter",
    "SolapiLmsAdapter",
    "authorization",
    "classify",
    "classify_many",
    "error_of",
    "iso_date",
    "parse_callback",
    "reason",
    "sign",
    "split_reports",
)

SEND_PATH = "/messages/v4/send-many/detail"
#: Report codes after which kakao cannot reach the user, so the gateway falls back to LMS: not a channel friend,
#: not a KakaoTalk user, no KakaoTalk use in 72 hours (or kakao messages blocked).
SOLAPI_KAKAO_UNDELIVERABLE = frozenset({"3102", "3104", "3107"})
#: Codes that say "later" rather than "this request is wrong": server error and an empty balance (operators top
#: up), and the two signature checks a freshly signed request passes.
_RETRYABLE_CODES = frozenset({"1024", "1030", "DuplicatedSignature", "RequestTimeTooSkewed"})
_DELIVERED = "4000"
#: The one status Solapi's Node SDK retries (lib/defaultFetcher.ts): the service refused the request.
_UNAVAILABLE = 503
_IN_PROGRESS = frozenset({"2000", "3000"})


#: Plain words for support staff (Korean, then English) for every code this adapter reports: report status codes
#: and the send answer's error codes named above and in docs/vendors.md.
CODE_TEXT = {
    "2000": "솔라피가 접수함 · accepted by Solapi",
    "3000": "통신사 또는 카카오에 넘김 · handed to the carrier or Kakao",
    _DELIVERED: "전달됨 · delivered",
    "3102": "채널 친구가 아님: LMS 대체 발송 대상 · not a friend of the KakaoTalk channel: falls back to LMS",
    "3104": "카카오톡 사용자가 아님: LMS 대체 발송 대상 · not a KakaoTalk user: falls back to LMS",
    "3107": "72시간 안에 카카오톡을 쓰지 않았거나 메시지를 막음: LMS 대체 발송 대상 · no KakaoTalk use in 72 hours, or "
    "kakao messages blocked: falls back to LMS",
    "1062": "발신번호가 등록되지 않음: 설정 확인 · the sender number is not registered with Solapi",
    "1029": "EUC-KR로 쓸 수 없는 문자가 있음 · characters outside EUC-KR",
    "1014": "제목이 40바이트를 넘음 · the subject is over 40 bytes",
    "1034": "솔라피에 없는 이미지 ID · the image id is unknown to Solapi (the upload is gone or was never made)",
    "1024": "솔라피 서버 오류: 다시 시도 · Solapi server error: tried again",
    "1030": "솔라피 잔액 부족: 충전 후 다시 시도 · Solapi balance is empty: tried again (top up)",
    "DuplicatedSignature": "서명이 재사용됨: 새로 서명해 다시 시도 · signature reused: signed again and retried",
    "RequestTimeTooSkewed": "서버 시계가 15분 넘게 어긋남: 다시 시도 · the clock is over 15 minutes off: retried",
}


def sign(api_secret: str, date: str, salt: str) -> str:
    """Return Solapi's signature: hex HMAC-SHA256 of ``date + salt`` keyed with the API secret."""
    return hmac.new(api_secret.encode(), (date + salt).encode(), hashlib.sha256).hexdigest()


def authorization(api_key: str, api_secret: str, date: str, salt: str) -> str:
    """Return the ``Authorization`` header value for one request."""
    signature = sign(api_secret, date, salt)
    return f"HMAC-SHA256 apiKey={api_key}, date={date}, salt={salt}, signature={signature}"


def iso_date(timestamp: float) -> str:
    """Format POSIX seconds as the ISO 8601 UTC date Solapi expects (``2019-07-01T00:41:48Z``)."""
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _new_salt() -> str:
    return secrets.token_hex(16)


class _SolapiAdapter(abc.ABC):
    """What both Solapi channels share: the signed request to send-many/detail and the answer's classification."""

    vendor: ClassVar[str] = "solapi"
    channel: ClassVar[Channel]
    # Solapi documents no idempotency key (allowDuplicates only lets one request carry a number twice).
    idempotent: ClassVar[bool] = False
    #: Messages per send-many/detail request (Solapi's SDKs: "한 번 호출 당 최대 10,000건", docs/vendors.md).
    max_batch: ClassVar[int] = 10_000

    def __init__(
        self,
        config: SolapiConfig,
        *,
        clock: Callable[[], float] = time.time,
        salt: Callable[[], str] = _new_salt,
    ) -> None:
        self._config = config
        self._clock = clock
        self._salt = salt

    def build(self, message: OutboundMessage, message_id: str, *, send_key: str | None = None) -> VendorRequest:
        """Build one signed send-many/detail request carrying this one message."""
        return self.build_batch([BatchItem(message=message, message_id=message_id, send_key=send_key or message_id)])

    def batch_key(self, message: OutboundMessage) -> Hashable | None:
        """Any messages of the channel share a request (each entry has its own text); one without a number: alone."""
        return self.channel if message.phone else None

    def build_batch(self, items: Sequence[BatchItem]) -> VendorRequest:
        """Build one signed send-many/detail request with one ``messages`` entry per item, in order."""
        headers = {
            "Authorization": authorization(
                self._config.api_key, self._config.api_secret, iso_date(self._clock()), self._salt()
            ),
            "Content-Type": "application/json",
        }
        messages = [self._message(item.message, item.message_id) for item in items]
        # showMessageList makes Solapi answer each message's messageId, the id its reports carry.
        body: dict[str, Any] = {"messages": messages, "showMessageList": True}
        if len({entry["to"] for entry in messages}) < len(messages):
            # Without it Solapi refuses a number's second message in one request (1026 "중복 수신번호"); two of our
            # messages to one number are two messages (docs/vendors.md, "Solapi").
            body["allowDuplicates"] = True
        return VendorRequest(
            method="POST",
            url=self._config.url.rstrip("/") + SEND_PATH,
            headers=headers,
            json=body,
            secret_headers=("Authorization",),
        )

    def classify(self, response: VendorResponse) -> Outcome:
        """Classify Solapi's answer (see :func:`classify`)."""
        return classify(response)

    def classify_batch(self, response: VendorResponse, items: Sequence[BatchItem]) -> list[Outcome]:
        """Each item's outcome from its own entry in the answer, found by ``customFields.gatewayId``.

        See :func:`classify_many`.
        """
        return classify_many(response, [(item.message_id, item.message.phone) for item in items])

    @abc.abstractmethod
    def _message(self, message: OutboundMessage, message_id: str) -> dict[str, Any]:
        """The one entry of ``messages`` for ``message``."""


class SolapiKakaoAdapter(_SolapiAdapter):
    """Kakao brand message free-form (``BMS_FREE``, targeting ``I``: channel friends only)."""

    channel: ClassVar[Channel] = "kakao"

    def _message(self, message: OutboundMessage, message_id: str) -> dict[str, Any]:
        bubble = "IMAGE" if message.image_url else "TEXT"
        bms: dict[str, Any] = {"targeting": "I", "chatBubbleType": bubble, "adult": False}
        if message.image_url:
            # The uploaded image's fileId; a tap on the image opens the first button's link, as with NHN.
            bms["imageId"] = message.image_url
            if message.buttons:
                bms["imageLink"] = message.buttons[0].link_mobile
        if message.buttons:
            bms["buttons"] = [_button(button) for button in message.buttons]
        return {
            "to": _phone(message),
            "from": self._config.send_no,
            "type": "BMS_FREE",
            "text": message.content,
            "customFields": {"gatewayId": message_id},
            "kakaoOptions": {"pfId": self._config.pf_id, "bms": bms},
        }


class SolapiLmsAdapter(_SolapiAdapter):
    """LMS (long SMS); the subject is optional."""

    channel: ClassVar[Channel] = "lms"

    def _message(self, message: OutboundMessage, message_id: str) -> dict[str, Any]:
        entry: dict[str, Any] = {"to": _phone(message), "from": self._config.send_no, "type": "LMS"}
        if message.subject:
            entry["subject"] = message.subject
        entry["text"] = message.content
        entry["customFields"] = {"gatewayId": message_id}
        return entry


def _phone(message: OutboundMessage) -> str:
    if not message.phone:
        raise ValueError(f"a {message.channel} message needs a phone number")
    return message.phone


def _button(button: Button) -> dict[str, str]:
    return {"linkType": "WL", "name": button.name, "linkMobile": button.link_mobile, "linkPc": button.link_pc}


class _Count(msgspec.Struct, rename="camel"):
    registered_success: int | None = None


class _GroupInfo(msgspec.Struct, rename="camel"):
    group_id: str | None = None
    count: _Count = msgspec.field(default_factory=_Count)


class _MessageResult(msgspec.Struct, rename="camel"):
    """One entry of ``failedMessageList`` or ``messageList``."""

    status_code: str
    status_message: str = ""
    message_id: str | None = None
    custom_fields: dict[str, Any] | None = None
    #: Failed entries only: the recipient number.
    to: str | None = None


class _SendManyDetail(msgspec.Struct, rename="camel"):
    group_info: _GroupInfo = msgspec.field(default_factory=_GroupInfo)
    failed_message_list: list[_MessageResult] = []
    message_list: list[_MessageResult] | None = None


class _Error(msgspec.Struct, rename="camel"):
    error_code: str = ""
    error_message: str = ""


def classify(response: VendorResponse) -> Outcome:
    """Classify a send-many/detail answer to a request carrying one message.

    A 2xx answer is accepted unless the message is in ``failedMessageList``, which is permanent by its code
    (``1062`` unregistered sender, ``1029`` characters outside EUC-KR, ...) except Solapi's "later" codes. Like
    Solapi's Node SDK, only 503 is retried among the statuses (with ``Retry-After``), as are Solapi's "later"
    codes and the re-signable 403s, which say the request was refused. 408, 425, 429 and the other 5xx may come
    from a request Solapi took (a proxy's timeout, a failure after the send), and Solapi has no idempotency key:
    they are :class:`~adapters.contract.Uncertain`: never resent blindly, the lookup decides (docs/ARCHITECTURE.md,
    "Uncertain sends"). Other 4xx are permanent.
    """
    return classify_many(response, [(None, None)])[0]


def classify_many(response: VendorResponse, messages: Sequence[tuple[str | None, str | None]]) -> list[Outcome]:
    """Classify a send-many/detail answer for each of the request's messages, given as (our id, recipient number).

    A failure of the whole request (see :func:`classify`) is every message's outcome. In a 2xx answer each message
    is found by ``customFields.gatewayId`` in ``failedMessageList`` (permanent or retryable by its code) or in
    ``messageList`` (accepted with Solapi's ``messageId``); a failed entry without our id by its ``to`` when only
    one message went to that number, and the only message of a one-message request by the answer's only entry.
    A message the answer does not place is :class:`~adapters.contract.Uncertain` (its lookup decides), unless the
    answer lists no messages at all and ``groupInfo.count.registeredSuccess`` says all the others were taken.
    """
    if not 200 <= response.status < 300:
        return [_refused(response)] * len(messages)
    try:
        sent = msgspec.json.decode(response.body, type=_SendManyDetail)
    except msgspec.DecodeError:
        # Solapi said yes; sending again could deliver twice, and the report still finds the message.
        return [Accepted(None, detail="Solapi answered 2xx with an unreadable body")] * len(messages)
    group = f"group {sent.group_info.group_id}"
    found: dict[int, list[Outcome]] = {}
    index_of = _Placer(messages)
    for failed in sent.failed_message_list:
        index = index_of(failed.custom_fields, failed.to)
        if index is not None:
            found.setdefault(index, []).append(_failed(failed))
    for accepted in sent.message_list or ():
        index = index_of(accepted.custom_fields, None)
        if index is not None:
            detail = f"{group}: {accepted.status_message}" if accepted.status_message else group
            found.setdefault(index, []).append(Accepted(accepted.message_id, code=accepted.status_code, detail=detail))
    unlisted = len(messages) - len(found)
    if not sent.message_list and unlisted and sent.group_info.count.registered_success == unlisted:
        # Solapi took every message it did not refuse and listed none: nothing names them, nothing is unknown.
        taken: list[Outcome] = [Accepted(None, detail=group)]
        return [_placed(found.get(i, taken), group) for i in range(len(messages))]
    return [_placed(found.get(i), group) for i in range(len(messages))]


def _refused(response: VendorResponse) -> Outcome:
    code, detail = error_of(response)
    if response.status == _UNAVAILABLE or code in _RETRYABLE_CODES:
        return Retryable(code, detail, parse_retry_after(header_value(response.headers, "Retry-After")))
    if response.status in RETRYABLE_HTTP or response.status >= 500:
        return Uncertain(code, f"HTTP {response.status}: {detail}")
    return Permanent(code, detail)


def _failed(entry: _MessageResult) -> Outcome:
    if entry.status_code in _RETRYABLE_CODES:
        return Retryable(entry.status_code, entry.status_message)
    return Permanent(entry.status_code, entry.status_message)


def _placed(outcomes: list[Outcome] | None, group: str) -> Outcome:
    if not outcomes:
        return Uncertain("not-in-answer", f"{group}: Solapi's answer does not name this message")
    if len(outcomes) > 1:
        return Uncertain("ambiguous-answer", f"{group}: Solapi's answer names this message {len(outcomes)} times")
    return outcomes[0]


class _Placer:
    """Finds which message of the request an answer entry is about (see :func:`classify_many`)."""

    def __init__(self, messages: Sequence[tuple[str | None, str | None]]) -> None:
        self._single = len(messages) == 1
        self._by_id = {message_id: i for i, (message_id, _) in enumerate(messages) if message_id is not None}
        numbers: dict[str, list[int]] = {}
        for i, (_, phone) in enumerate(messages):
            if phone:
                numbers.setdefault(phone, []).append(i)
        self._by_number = {phone: found[0] for phone, found in numbers.items() if len(found) == 1}

    def __call__(self, custom_fields: dict[str, Any] | None, to: str | None) -> int | None:
        gateway_id = (custom_fields or {}).get("gatewayId")
        index = self._by_id.get(gateway_id) if isinstance(gateway_id, str) else None
        if index is None and to is not None:
            index = self._by_number.get(to)
        if index is None and self._single:
            return 0
        return index


def error_of(response: VendorResponse) -> tuple[str, str]:
    """The ``errorCode`` and ``errorMessage`` of a 4xx/5xx answer (``http_<status>`` and the raw body if unreadable)."""
    try:
        error = msgspec.json.decode(response.body, type=_Error)
    except msgspec.DecodeError:
        error = _Error()
    code = error.error_code or f"http_{response.status}"
    return code, error.error_message or response.body[:200].decode("utf-8", "replace")


class _ReportData(msgspec.Struct, rename="camel"):
    # Recipient and sender numbers are in the report too; they are left undecoded on purpose.
    status_code: str
    message_id: str | None = None
    status_message: str | None = None
    date_processed: str | None = None
    date_reported: str | None = None
    date_received: str | None = None
    custom_fields: dict[str, str] | None = None


class _Report(msgspec.Struct, rename="camel"):
    event_data_id: str
    data: _ReportData
    retry_count: int = 0


def parse_callback(body: bytes) -> list[Receipt]:
    """Parse a Solapi single-report webhook body (a JSON array) into receipts.

    ``4000`` is delivered, ``2000``/``3000`` are progress, any other code failed. Solapi signs nothing: the web
    layer authenticates the call by the secret token in its path.

    Raises:
        ValueError: The body is not a JSON array of reports.
    """
    try:
        reports = msgspec.json.decode(body, type=list[_Report])
    except msgspec.DecodeError as exc:
        raise ValueError(f"malformed Solapi report body: {exc}") from exc
    return [_receipt(report) for report in reports]


def split_reports(body: bytes) -> list[bytes]:
    """The reports of a webhook body, each as a one-report body for :func:`parse_callback`.

    Solapi resends a whole body until it is answered 200 (docs/vendors.md), so one malformed report must not hold
    back the others: each is read alone.

    Raises:
        ValueError: The body is not a JSON array.
    """
    try:
        reports = msgspec.json.decode(body, type=list[msgspec.Raw])
    except msgspec.DecodeError as exc:
        raise ValueError(f"malformed Solapi report body: {exc}") from exc
    return [b"[" + bytes(report) + b"]" for report in reports]


def _receipt(report: _Report) -> Receipt:
    data = report.data
    outcome = _outcome(data.status_code)
    return Receipt(
        vendor="solapi",
        event_id=report.event_data_id,
        outcome=outcome,
        # A report names no channel; Solapi's kakao and LMS codes do not overlap (docs/vendors.md).
        reason=OUTCOME_REASONS.get(outcome) or reason(data.status_code),
        correlation_id=(data.custom_fields or {}).get("gatewayId"),
        vendor_message_id=data.message_id,
        code=data.status_code,
        detail=data.status_message or "",
        occurred_at=_timestamp(data.date_received, data.date_reported, data.date_processed),
    )


def reason(code: str | None) -> Reason:
    """What a failed report's ``statusCode`` means: unreachable by KakaoTalk, or unexplained."""
    return Reason.UNREACHABLE if code in SOLAPI_KAKAO_UNDELIVERABLE else Reason.OTHER


def _outcome(code: str) -> ReceiptOutcome:
    if code == _DELIVERED:
        return "delivered"
    return "progress" if code in _IN_PROGRESS else "failed"


def _timestamp(*values: str | None) -> float | None:
    """The first parseable ISO 8601 date as POSIX seconds; a date without a zone is taken as UTC."""
    for value in values:
        if not value:
            continue
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            continue
        return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()
    return None
