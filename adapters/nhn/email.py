"""NHN Cloud Email v2.1: sending (``/sender/mail``, advertising ``/sender/ad-mail``) and polling results
(``/sender/mails``).

NHN Email has no delivery webhook (its webhook reports unsubscribes), so results are polled with the mail list
query. Verified against NHN Cloud's docs (TOAST-DOCS/E-mail ``api-guide.md``, ``error-code.md``): the body
``senderAddress``, ``senderName``, ``title``, ``body``, ``receiverList[receiveMailAddr, receiveType]``,
``senderGroupingKey``; the answer ``header`` plus ``body.data{requestId, results[receiveMailAddr, resultCode,
resultMessage]}``; result codes ``0`` success, ``1000`` partial success, ``-1005`` temporarily blocked,
``-9999`` internal error; the query ``GET /sender/mails`` (``requestId`` or ``startSendDate``/``endSendDate``,
``senderGroupingKey``, ``pageSize``) answering ``body.data[requestId, mailSeq, mailStatusCode, mailStatusName,
resultDate, senderGroupingKey, dsnCode]`` with ``mailStatusCode`` SST0 preparing, SST1 sending, SST2 sent,
SST3 failed, SST5 refused (unsubscribed), SST7 unauthenticated, SST8 not on the whitelist. Advertising mail
(api-guide.md "광고 메일 전송 시 유의 사항", console-guide.md "수신 거부 링크로 제공하고 있는 키"): the same request on
``/sender/ad-mail``, a title starting with ``(광고)`` (else ``-2023``), and NHN's opt-out link placeholders
``##BLOCK_RECEIVER_LINK##`` / ``##EN_BLOCK_RECEIVER_LINK##`` in the body, in Korean and in English.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import quote, urlencode

import httpx
import msgspec

from adapters.base import KST, VendorRequest, VendorResponse, parse_korean_time
from adapters.contract import OUTCOME_REASONS, Channel, OutboundMessage, Outcome, Reason, Receipt, ReceiptOutcome
from adapters.nhn.common import (
    SECRET_HEADER,
    CodeRules,
    NhnResult,
    RecipientResult,
    ResultHeader,
    classify_result,
    nhn_headers,
)
from adapters.nhn.config import NhnEmailConfig
from adapters.spec import Poll, PollTarget

__all__ = (
    "BLOCK_LINK",
    "CODE_TEXT",
    "EMAIL_DELIVERED",
    "EMAIL_FAILED",
    "EN_BLOCK_LINK",
    "NhnEmailAdapter",
    "email_outcome",
    "email_reason",
    "parse_result_query",
    "result_poll",
)

#: ``mailStatusCode`` of a sent mail.
EMAIL_DELIVERED = "SST2"
#: ``mailStatusCode`` values of a mail that will not arrive.
EMAIL_FAILED = frozenset({"SST3", "SST5", "SST7", "SST8"})
#: The recipient refused it (SST5) or the address is not allowed (SST7 unverified, SST8 allow list).
_EMAIL_BLOCKED = frozenset({"SST5", "SST7", "SST8"})
#: NHN's opt-out link placeholders (Korean "[수신거부]", English "[Unsubscription]"); NHN fills them in.
BLOCK_LINK, EN_BLOCK_LINK = "##BLOCK_RECEIVER_LINK##", "##EN_BLOCK_RECEIVER_LINK##"
#: The opt-out notice of an advertising mail whose body has no placeholder of its own (KO and EN, as the law asks).
_OPT_OUT = (
    f'<p style="font-size:12px;color:#666">메일 수신을 원치 않으시면 {BLOCK_LINK}를 클릭하세요.<br>'
    f"If you do not want to receive it, please click {EN_BLOCK_LINK}.</p>"
)
#: How far before our record of the send NHN's send time may lie (clocks differ) when no request id is known.
_CLOCK_SLACK = 600.0
#: Results per query page; a message has a single recipient, so one page holds all of a request.
_PAGE_SIZE = 100

#: Plain words for support staff (Korean, then English) for every code this adapter reports: the send answer's
#: result codes and the ``mailStatusCode`` values named above.
CODE_TEXT = {
    "0": "접수됨 · accepted",
    "1000": "일부 수신자만 접수됨 · accepted for some recipients only",
    "-2023": "광고 메일 제목이 (광고)로 시작하지 않음 · an advertising mail's title does not start with (광고)",
    "-1005": "NHN 이메일 발송이 잠시 막힘: 다시 시도 · NHN Email is temporarily blocked: tried again",
    "-9999": "NHN 시스템 오류: 다시 시도 · NHN system error: tried again",
    "SST0": "발송 준비 중 · being prepared",
    "SST1": "발송 중 · being sent",
    EMAIL_DELIVERED: "받는 메일 서버에 전달됨 · handed to the recipient's mail server",
    "SST3": "발송 실패 · sending failed",
    "SST5": "수신 거부한 주소 · the address unsubscribed",
    "SST7": "인증되지 않은 발신 · the sender is not authenticated",
    "SST8": "허용 목록에 없는 주소 · the address is not on the allow-list",
}

_RULES = CodeRules(
    # -1005 the service is temporarily blocked; -9999 internal error.
    retryable=frozenset({-1005, -9999}),
    # docs/vendors.md: NHN documents the idempotency header for Bizmessage only, and -1005 means something else here.
    idempotent=False,
    # An unreadable 2xx is looked up (adapters/nhn/lookup.py).
    looked_up=True,
)


class NhnEmailAdapter:
    """HTML email through NHN Cloud Email; results come from :meth:`build_result_query`."""

    vendor: ClassVar[str] = "nhn"
    channel: ClassVar[Channel] = "email"
    idempotent: ClassVar[bool] = _RULES.idempotent

    def __init__(self, config: NhnEmailConfig) -> None:
        self._config = config
        self._base = f"{config.url.rstrip('/')}/email/v2.1/appKeys/{quote(config.appkey, safe='')}/sender"

    def build(self, message: OutboundMessage, message_id: str, *, send_key: str | None = None) -> VendorRequest:
        """Build the send request; ``message_id`` is the ``senderGroupingKey`` results are matched by."""
        if not message.email:
            raise ValueError("an email needs a recipient address")
        body: dict[str, Any] = {"senderAddress": self._config.sender_address}
        if self._config.sender_name:
            body["senderName"] = self._config.sender_name
        content = message.content
        if message.ad and BLOCK_LINK not in content:
            content += _OPT_OUT
        body |= {
            # An advertising subject already starts with (광고) (gateway/channels/email.py).
            "title": message.subject or "",
            "body": content,
            "receiverList": [{"receiveMailAddr": message.email, "receiveType": "MRT0"}],
            "senderGroupingKey": message_id,
        }
        return VendorRequest(
            method="POST",
            url=f"{self._base}/{'ad-mail' if message.ad else 'mail'}",
            headers=nhn_headers(self._config.secret),
            json=body,
            secret_headers=(SECRET_HEADER,),
        )

    def classify(self, response: VendorResponse) -> Outcome:
        """Accepted with NHN's ``requestId``; a partial success is classified by the recipient's code."""
        return classify_result(response, _parse_response, _RULES)

    def build_result_query(
        self,
        *,
        request_id: str | None = None,
        message_id: str | None = None,
        since: float | None = None,
        until: float | None = None,
    ) -> VendorRequest:
        """Build the mail list query for one send.

        Args:
            request_id: NHN's ``requestId`` from the acceptance (the usual key).
            message_id: Our id, the ``senderGroupingKey``; with ``since`` and ``until`` it finds a send whose
                acceptance was never recorded.
            since: Start of the send-time window (POSIX seconds), needed without ``request_id``.
            until: End of the send-time window (POSIX seconds), needed without ``request_id``.

        Raises:
            ValueError: Neither ``request_id`` nor ``message_id`` with a time window was given.
        """
        params: dict[str, str | int] = {}
        if request_id:
            params["requestId"] = request_id
        elif message_id and since is not None and until is not None:
            params |= {"startSendDate": _nhn_time(since), "endSendDate": _nhn_time(until)}
        else:
            raise ValueError("a result query needs request_id, or message_id with since and until")
        if message_id:
            params["senderGroupingKey"] = message_id
        params["pageSize"] = _PAGE_SIZE
        return VendorRequest(
            method="GET",
            url=f"{self._base}/mails?{urlencode(params)}",
            headers=nhn_headers(self._config.secret),
            json={},
            secret_headers=(SECRET_HEADER,),
        )


def result_poll(config: NhnEmailConfig) -> Poll:
    """The lookup of one accepted email: NHN's mail list by the acceptance's request id (else our id and a window)."""
    adapter = NhnEmailAdapter(config)

    async def poll(client: httpx.AsyncClient, target: PollTarget) -> list[Receipt]:
        request = adapter.build_result_query(
            request_id=target.vendor_message_id,
            message_id=target.message_id,
            since=target.created_at - _CLOCK_SLACK,
            until=target.now,
        )
        response = await client.request(request.method, request.url, headers=request.headers)
        return parse_result_query(response.content)

    return poll


def _nhn_time(when: float) -> str:
    return datetime.fromtimestamp(when, KST).strftime("%Y-%m-%d %H:%M:%S")


class _Result(msgspec.Struct, frozen=True, rename="camel"):
    result_code: int = 0
    result_message: str = ""


class _SendData(msgspec.Struct, frozen=True, rename="camel"):
    request_id: str | None = None
    results: list[_Result] = msgspec.field(default_factory=list)


class _SendBody(msgspec.Struct, frozen=True):
    data: _SendData | None = None


class _SendResponse(msgspec.Struct, frozen=True):
    header: ResultHeader
    body: _SendBody | None = None


def _parse_response(raw: bytes) -> NhnResult:
    response = msgspec.json.decode(raw, type=_SendResponse, strict=False)
    data = (response.body.data if response.body else None) or _SendData()
    recipients = tuple(RecipientResult(r.result_code, r.result_message) for r in data.results)
    return NhnResult(response.header, data.request_id, recipients)


class _Mail(msgspec.Struct, frozen=True, rename="camel"):
    request_id: str
    mail_status_code: str
    mail_seq: int = 0
    mail_status_name: str = ""
    sender_grouping_key: str | None = None
    request_date: str | None = None
    result_date: str | None = None
    dsn_code: str | None = None


class _QueryBody(msgspec.Struct, frozen=True):
    data: list[_Mail] = msgspec.field(default_factory=list)


class _QueryResponse(msgspec.Struct, frozen=True):
    header: ResultHeader
    body: _QueryBody | None = None


def email_outcome(mail_status_code: str) -> ReceiptOutcome:
    """Map a ``mailStatusCode`` to a receipt outcome (SST0/SST1 and unknown codes are in progress)."""
    if mail_status_code == EMAIL_DELIVERED:
        return "delivered"
    return "failed" if mail_status_code in EMAIL_FAILED else "progress"


def email_reason(code: str | None) -> Reason:
    """What a failed ``mailStatusCode`` means: ``SST3`` bounced, the others blocked."""
    if code == "SST3":
        return Reason.BOUNCED
    return Reason.BLOCKED if code in _EMAIL_BLOCKED else Reason.OTHER


def parse_result_query(body: bytes) -> list[Receipt]:
    """Turn a mail list answer into one receipt per mail and status.

    Raises:
        ValueError: The body is not a mail list answer, or NHN refused the query.
    """
    try:
        response = msgspec.json.decode(body, type=_QueryResponse, strict=False)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise ValueError(f"malformed NHN Email query answer: {exc}") from exc
    if not response.header.is_successful:
        header = response.header
        raise ValueError(f"NHN Email refused the query: {header.result_code} {header.result_message}")
    return [_receipt(mail) for mail in (response.body.data if response.body else [])]


def _receipt(mail: _Mail) -> Receipt:
    detail = mail.mail_status_name or mail.mail_status_code
    if mail.dsn_code:
        detail += f" (DSN {mail.dsn_code})"
    outcome = email_outcome(mail.mail_status_code)
    return Receipt(
        vendor="nhn",
        # A mail changes status over time; each status is its own event.
        event_id=f"{mail.request_id}-{mail.mail_seq}-{mail.mail_status_code}",
        outcome=outcome,
        reason=OUTCOME_REASONS.get(outcome) or email_reason(mail.mail_status_code),
        correlation_id=mail.sender_grouping_key,
        vendor_message_id=mail.request_id,
        code=mail.mail_status_code,
        detail=detail,
        occurred_at=parse_korean_time(mail.result_date or mail.request_date),
    )
