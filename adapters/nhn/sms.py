"""NHN Cloud SMS v3.0: LMS (``/sender/mms``, ``/sender/ad-mms`` for advertising) and its webhook.

Verified against NHN Cloud's docs (TOAST-DOCS/SMS ``ko/api-guide.md``, ``ko/error-code.md``, ``ko/webhook.md``):
the body ``title``, ``body``, ``sendNo``, ``recipientList[recipientNo, recipientGroupingKey]``; the answer
``header`` plus ``body.data{requestId, statusCode, sendResultList[recipientNo, resultCode (integer),
resultMessage, recipientSeq, recipientGroupingKey]}``; API codes (``-2023`` characters, ``-2312`` sender
number, ``-6003`` opt-out text, ``-9999``/``-2021`` system errors); the ``MESSAGE_RESULT_UPDATE`` hook fields
(``hookId``, ``requestId``, ``recipientSeq``, ``messageStatus``, ``resultCode`` string, ``recipientGroupingKey``,
``requestDate``, ``receiveDate``). The SMS docs do not list the idempotency header the other NHN products take;
it is sent anyway (an unknown header is ignored).

Batches (docs/vendors.md, "NHN Cloud", "Batches"): one request carries one title and body to up to 1,000 recipients
(``-2016`` beyond), so messages batch when endpoint, title and body are equal; each recipient's ``sendResultList``
entry (``recipientGroupingKey``: our id) settles its message.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import ClassVar
from urllib.parse import quote

import msgspec

from adapters.base import VendorRequest, VendorResponse, parse_korean_time
from adapters.batch import BatchItem
from adapters.contract import OUTCOME_REASONS, Channel, OutboundMessage, Outcome, Reason, Receipt, ReceiptOutcome
from adapters.nhn.common import (
    MESSAGE_RESULT_UPDATE,
    SECRET_HEADER,
    CodeRules,
    NhnResult,
    Recipient,
    RecipientResult,
    ResultHeader,
    classify_result,
    classify_results,
    decode_webhook,
    nhn_headers,
    request_idempotency_key,
)
from adapters.nhn.config import NhnSmsConfig

__all__ = (
    "CARRIER_DELIVERED",
    "CODE_TEXT",
    "PRODUCT",
    "TITLE_MAX_BYTES",
    "NhnSmsAdapter",
    "parse_callback",
    "sms_outcome",
)

#: ``productName`` of SMS webhooks.
PRODUCT = "SMS"
#: The LMS title limit in EUC-KR/CP949 bytes.
TITLE_MAX_BYTES = 40
#: The carrier's result code for a delivered message.
CARRIER_DELIVERED = "1000"

#: Plain words for support staff (Korean, then English) for every code this adapter reports: the API codes named
#: above, the carrier's delivered code and the final ``messageStatus`` values (a hook without a carrier code
#: reports its status as the code).
CODE_TEXT = {
    CARRIER_DELIVERED: "휴대폰에 전달됨 · delivered to the phone",
    "COMPLETED": "통신사 처리 완료 · the carrier finished with the message",
    "FAILED": "통신사가 전달하지 못함 · the carrier could not deliver it",
    "CANCEL": "발송이 취소됨 · the send was cancelled",
    "DUPLICATED": "중복 발송으로 보내지 않음 · not sent: a duplicate",
    "FAILED_AD": "광고 문자 규칙(수신 거부 등)으로 보내지 않음 · not sent: advertising rules (e.g. opted out)",
    "-2023": "통신사가 보낼 수 없는 문자(이모지 등)가 있음 · characters the carriers cannot carry (e.g. emoji)",
    "-2312": "발신번호가 등록되지 않음: 설정 확인 · the sender number is not registered with NHN",
    "-6003": "광고 문자에 (광고) 표시나 080 수신거부 번호가 없음 "
    "· an advertising LMS lacks (광고) or the 080 opt-out line",
    "-2021": "NHN 발송 대기열 오류: 다시 시도 · NHN's send queue refused it: tried again",
    "-9999": "NHN 시스템 오류: 다시 시도 · NHN system error: tried again",
}

_RULES = CodeRules(
    # -9999 system error; -2021 system error, the send queue refused the message.
    retryable=frozenset({-9999, -2021}),
    # The header is sent, but undocumented here: an unreadable 2xx is looked up instead (adapters/nhn/lookup.py).
    idempotent=False,
    looked_up=True,
)
#: Final ``messageStatus`` values that mean the message did not go out.
_FAILED_STATUSES = frozenset({"FAILED", "CANCEL", "DUPLICATED", "FAILED_AD"})
#: ``messageStatus`` values that end the send before any carrier: cancelled, duplicated, refused advertising.
_INVALID_STATUSES = frozenset({"CANCEL", "DUPLICATED", "FAILED_AD"})


class NhnSmsAdapter:
    """LMS through NHN's MMS endpoint (an MMS without attachments is an LMS)."""

    vendor: ClassVar[str] = "nhn"
    channel: ClassVar[Channel] = "lms"
    idempotent: ClassVar[bool] = _RULES.idempotent
    #: Recipients per request: ``-2016`` "수신자가 1,000명이 넘어간 경우" (docs/vendors.md, "NHN Cloud", "Batches").
    max_batch: ClassVar[int] = 1000

    def __init__(self, config: NhnSmsConfig) -> None:
        self._config = config
        self._base = f"{config.url.rstrip('/')}/sms/v3.0/appKeys/{quote(config.appkey, safe='')}/sender"

    def build(self, message: OutboundMessage, message_id: str, *, send_key: str | None = None) -> VendorRequest:
        """Build the LMS request; an advertising message goes to ``/sender/ad-mms``."""
        return self.build_batch([BatchItem(message=message, message_id=message_id, send_key=send_key or message_id)])

    def batch_key(self, message: OutboundMessage) -> Hashable | None:
        """What endpoint, title and body are made of: advertising or not, subject, text (``None`` without a number)."""
        return (message.ad, message.subject, message.content) if message.phone else None

    def recipient_key(self, message: OutboundMessage) -> Hashable:
        """The number: NHN does not say what one ``recipientList`` naming a number twice does, so it never does."""
        return message.phone

    def build_batch(self, items: Sequence[BatchItem]) -> VendorRequest:
        """Build one LMS request whose ``recipientList`` has one recipient per item (grouping key: its id), in order.

        Raises:
            ValueError: An item has no phone number, or the items' contents differ (see :meth:`batch_key`).
        """
        recipients = [{"recipientNo": _phone(item.message), "recipientGroupingKey": item.message_id} for item in items]
        first = items[0].message
        key = self.batch_key(first)
        if any(self.batch_key(item.message) != key for item in items[1:]):
            raise ValueError("an LMS batch must carry one content")
        return VendorRequest(
            method="POST",
            url=f"{self._base}/{'ad-mms' if first.ad else 'mms'}",
            headers=nhn_headers(self._config.secret, request_idempotency_key([item.send_key for item in items])),
            json=self._content(first) | {"recipientList": recipients},
            secret_headers=(SECRET_HEADER,),
        )

    def classify(self, response: VendorResponse) -> Outcome:
        """Accepted with NHN's ``requestId``; validation codes are permanent."""
        return classify_result(response, _parse_response, _RULES)

    def classify_batch(self, response: VendorResponse, items: Sequence[BatchItem]) -> list[Outcome]:
        """Each item by its own ``sendResultList`` entry (found by ``recipientGroupingKey``, else ``recipientSeq``).

        See :func:`~adapters.nhn.common.classify_results`.
        """
        recipients = [Recipient(item.message_id, item.message.phone) for item in items]
        return classify_results(response, _parse_response, _RULES, recipients)

    def _content(self, message: OutboundMessage) -> dict[str, str]:
        return {
            "title": message.subject or _title_from(message.content),
            "body": message.content,
            "sendNo": self._config.send_no,
        }


def _phone(message: OutboundMessage) -> str:
    if not message.phone:
        raise ValueError("an LMS needs a phone number")
    return message.phone


def _title_from(content: str) -> str:
    """NHN requires a title: without a subject, the first line of the text, cut to the 40-byte limit."""
    first_line = next((line.strip() for line in content.splitlines() if line.strip()), "")
    title, size = "", 0
    for char in first_line:
        try:
            width = len(char.encode("cp949"))
        except UnicodeEncodeError:
            continue
        if size + width > TITLE_MAX_BYTES:
            break
        title, size = title + char, size + width
    return title


class _SendResult(msgspec.Struct, frozen=True, rename="camel"):
    result_code: int = 0
    result_message: str = ""
    recipient_seq: int | None = None
    recipient_no: str | None = None
    recipient_grouping_key: str | None = None


class _Data(msgspec.Struct, frozen=True, rename="camel"):
    request_id: str | None = None
    #: "1" requesting, "2" requested, "3" the request failed (SMS API v3.0 guide).
    status_code: str | None = None
    send_result_list: list[_SendResult] = msgspec.field(default_factory=list)


class _Body(msgspec.Struct, frozen=True):
    data: _Data | None = None


class _Response(msgspec.Struct, frozen=True):
    header: ResultHeader
    body: _Body | None = None


def _parse_response(raw: bytes) -> NhnResult:
    response = msgspec.json.decode(raw, type=_Response, strict=False)
    data = (response.body.data if response.body else None) or _Data()
    recipients = tuple(
        RecipientResult(r.result_code, r.result_message, r.recipient_seq, r.recipient_no, r.recipient_grouping_key)
        for r in data.send_result_list
    )
    return NhnResult(response.header, data.request_id, recipients, request_failed=data.status_code == "3")


class _Hook(msgspec.Struct, frozen=True, rename="camel"):
    hook_id: str
    request_id: str | None = None
    recipient_seq: int | None = None
    message_status: str | None = None
    result_code: str | int | None = None
    recipient_grouping_key: str | None = None
    # NHN's own webhook example misspells the key; accept it rather than lose the correlation.
    recipient_gropuing_key: str | None = None
    request_date: str | None = None
    receive_date: str | None = None


def sms_outcome(message_status: str | None, result_code: str | None) -> ReceiptOutcome:
    """Map an SMS hook's ``messageStatus`` and carrier ``resultCode`` to a receipt outcome."""
    if message_status in _FAILED_STATUSES:
        return "failed"
    if message_status == "COMPLETED":
        return "delivered" if result_code == CARRIER_DELIVERED else "failed"
    return "progress"


def sms_reason(code: str | None) -> Reason:
    """What a failed SMS receipt's code (the carrier's ``resultCode``, else the ``messageStatus``) means."""
    return Reason.INVALID if code in _INVALID_STATUSES else Reason.OTHER


def parse_callback(body: bytes) -> list[Receipt]:
    """Parse an SMS webhook into receipts; events other than result updates (e.g. opt-outs) carry none.

    Raises:
        ValueError: The body is not an SMS webhook.
    """
    webhook = decode_webhook(body, _Hook, PRODUCT)
    if webhook.event != MESSAGE_RESULT_UPDATE:
        return []
    return [_receipt(hook) for hook in webhook.hooks]


def _receipt(hook: _Hook) -> Receipt:
    code = str(hook.result_code) if hook.result_code not in (None, "") else None
    status = hook.message_status
    outcome = sms_outcome(status, code)
    return Receipt(
        vendor="nhn",
        event_id=hook.hook_id,
        outcome=outcome,
        reason=OUTCOME_REASONS.get(outcome) or sms_reason(code or status),
        correlation_id=hook.recipient_grouping_key or hook.recipient_gropuing_key,
        vendor_message_id=hook.request_id,
        code=code or status,
        detail=f"messageStatus {status}" if status else "",
        occurred_at=parse_korean_time(hook.receive_date or hook.request_date),
    )
