"""NHN Cloud KakaoTalk Bizmessage: the brand message free-form (friend-talk's successor) and its webhook.

Verified against NHN Cloud's docs (TOAST-DOCS, KakaoTalk Bizmessage brand-message API guide, "메시지 자유형 발송
요청"): the body fields ``senderKey``, ``chatBubbleType``, ``pushAlarm``, ``adult``, ``content``,
``image{imageUrl, imageLink}``, ``buttons[name, type, linkMo, linkPc]``,
``recipientList[recipientNo, targeting, recipientGroupingKey]``; the answer ``header`` plus
``message{requestId, sendResults[recipientSeq, recipientNo, resultCode (integer), resultMessage]}``; API and Kakao
result codes from its error-code page; the webhook hook fields from its webhook API guide and docs/vendors.md.

Batches (docs/vendors.md, "NHN Cloud", "Batches"): one request carries one content to up to 1,000 recipients
(``recipientList`` "최대 1,000명"), so messages batch when everything but the recipient is equal; each recipient's
``sendResults`` entry (``recipientSeq``, its place in the list, and ``recipientNo``) settles its message, and the
idempotency key of a batch is derived from its messages' send keys.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any, ClassVar
from urllib.parse import quote

import msgspec

from adapters.base import VendorRequest, VendorResponse, parse_korean_time
from adapters.batch import BatchItem
from adapters.contract import (
    OUTCOME_REASONS,
    Button,
    Channel,
    OutboundMessage,
    Outcome,
    Reason,
    Receipt,
    ReceiptOutcome,
)
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
from adapters.nhn.config import NhnKakaoConfig

__all__ = (
    "CODE_TEXT",
    "KAKAO_RESULT_TEXT",
    "KAKAO_RETRY_LATER",
    "KAKAO_UNDELIVERABLE",
    "PRODUCT",
    "NhnKakaoAdapter",
    "kakao_outcome",
    "kakao_reason",
    "parse_callback",
)

#: ``productName`` of Bizmessage webhooks.
PRODUCT = "KakaoTalk Bizmessage"

#: Kakao codes meaning this user cannot get the message on KakaoTalk but may by LMS: inactive user or number
#: mismatch, not a KakaoTalk user, refused messages from the channel, KakaoTalk too old. Not ``3008`` (a bad
#: number fails as LMS too), not ``1021``-``1025`` (the channel itself is blocked: an operator problem).
KAKAO_UNDELIVERABLE = frozenset({"3018", "3019", "3020", "3021"})
#: Kakao system trouble: the message was not delivered, and sending again later may work.
KAKAO_RETRY_LATER = frozenset({"9998", "9999"})
#: The channel itself is blocked, closed, deleted or sanctioned: an operator must act.
_KAKAO_BLOCKED = frozenset({"1021", "1022", "1023", "1024", "1025"})
#: A bad number, a message over the limit, outside sending hours: the request is wrong.
_KAKAO_INVALID = frozenset({"3008", "3014", "3022"})

#: What the Kakao result codes named in docs/vendors.md mean (NHN error-code page, "발송 결과 코드").
KAKAO_RESULT_TEXT = {
    "1000": "success",
    "1021": "KakaoTalk channel blocked",
    "1022": "KakaoTalk channel closed",
    "1023": "KakaoTalk channel deleted",
    "1024": "KakaoTalk channel pending deletion",
    "1025": "channel sanctioned",
    "3005": "sent, receipt not confirmed (kept for up to 3 days)",
    "3008": "invalid phone number",
    "3014": "message length limit exceeded",
    "3018": "cannot deliver: inactive user, number mismatch or sanctioned user",
    "3019": "not a KakaoTalk user",
    "3020": "user refuses messages",
    "3021": "KakaoTalk version not supported",
    "3022": "outside sending hours (08:00-20:50)",
    "9998": "Kakao system trouble (service not available)",
    "9999": "Kakao system trouble (unknown error)",
}

#: Plain words for support staff (Korean, then English) for every code this adapter reports: Kakao result codes
#: (receipts and recipients' results) and the NHN API codes named above and in docs/vendors.md.
CODE_TEXT = {
    "1000": "카카오톡으로 전달됨 · delivered on KakaoTalk",
    "1021": "카카오톡 채널이 차단됨: 채널 관리자 확인 필요 "
    "· the KakaoTalk channel is blocked: the channel's admin must act",
    "1022": "카카오톡 채널이 닫힘 · the KakaoTalk channel is closed",
    "1023": "카카오톡 채널이 삭제됨 · the KakaoTalk channel was deleted",
    "1024": "카카오톡 채널 삭제 대기 중 · the KakaoTalk channel is about to be deleted",
    "1025": "카카오톡 채널이 제재됨 · the KakaoTalk channel is sanctioned",
    "3005": "보냈으나 수신 확인 전 (최대 3일 대기) · sent, Kakao has not confirmed receipt yet (up to 3 days)",
    "3008": "전화번호가 올바르지 않음 · the phone number is invalid",
    "3014": "메시지 길이 초과 · the message is too long",
    "3018": "카카오톡으로 보낼 수 없음 (휴면 사용자, 번호 불일치, 제재 사용자): LMS 대체 발송 대상 · cannot deliver on "
    "KakaoTalk (inactive user, number mismatch or sanctioned user): falls back to LMS",
    "3019": "카카오톡 사용자가 아님: LMS 대체 발송 대상 · not a KakaoTalk user: falls back to LMS",
    "3020": "사용자가 이 채널의 메시지를 거부함: LMS 대체 발송 대상 "
    "· the user refuses this channel's messages: falls back to LMS",
    "3021": "카카오톡 버전이 낮아 받을 수 없음: LMS 대체 발송 대상 "
    "· the user's KakaoTalk is too old: falls back to LMS",
    "3022": "발송 가능 시간(08:00-20:50)이 아님 · outside Kakao's sending hours (08:00-20:50 KST)",
    "9998": "카카오 시스템 장애 (서비스 불가): 11분 뒤 다시 보냄 "
    "· Kakao system trouble (service unavailable): sent again "
    "after 11 minutes",
    "9999": "카카오 시스템 장애 (알 수 없는 오류): 11분 뒤 다시 보냄 "
    "· Kakao system trouble (unknown error): sent again "
    "after 11 minutes",
    "-1000": "NHN 앱 키가 잘못됨: 설정 확인 · NHN refused the app key: check the gateway's settings",
    "-1001": "NHN 시크릿 키가 잘못됨: 설정 확인 · NHN refused the secret key: check the gateway's settings",
    "-1005": "같은 멱등 키가 10분 안에 쓰임: 발송 여부를 조회로 확인 "
    "· the same idempotency key was used within 10 minutes: whether it was sent is looked up",
    "-1031": "모든 수신자에게 발송 실패 (수신자별 사유 없음) · every recipient failed (no recipient's reason given)",
    "-3006": "버튼 링크가 http(s)로 시작하지 않음 · a button link does not start with http(s)",
    "-3310": "버튼 링크가 http(s)로 시작하지 않음 · a button link does not start with http(s)",
    "-4019": "수신자 번호가 잘못됨 · the recipient number is invalid",
    "-7000": "NHN이 카카오에 연결하지 못함: 다시 시도 · NHN could not reach Kakao: tried again",
    "-9992": "옛 친구톡 API는 브랜드 메시지 변환 헤더 없이 쓸 수 없음 · the legacy friend-talk API needs the brand "
    "message header",
    "-9999": "NHN 시스템 오류: 다시 시도 · NHN system error: tried again",
}

_RULES = CodeRules(
    # -9999 system error; -7000 the call to Kakao failed.
    retryable=frozenset({-9999, -7000}),
    # Kakao's own trouble, should a recipient's result carry a Kakao code.
    retry_later=frozenset(map(int, KAKAO_RETRY_LATER)),
    # -1005: the same X-NC-API-IDEMPOTENCY-KEY within 10 minutes; whether that earlier attempt was sent is looked up.
    duplicate=frozenset({-1005}),
    # -1031: every recipient failed; each one's own code (when sent along) says why (docs/vendors.md).
    recipient_reason=frozenset({-1031}),
)


class NhnKakaoAdapter:
    """Brand message free-form with targeting ``I`` (channel friends): friend-talk in today's form."""

    vendor: ClassVar[str] = "nhn"
    channel: ClassVar[Channel] = "kakao"
    idempotent: ClassVar[bool] = _RULES.idempotent
    #: Recipients per request: ``recipientList`` "최대 1,000명" (docs/vendors.md, "NHN Cloud", "Batches").
    max_batch: ClassVar[int] = 1000

    def __init__(self, config: NhnKakaoConfig) -> None:
        self._config = config
        self._url = f"{config.url.rstrip('/')}/brand-message/v1.0/appkeys/{quote(config.appkey, safe='')}"
        self._url += "/freestyle-messages"

    def build(self, message: OutboundMessage, message_id: str, *, send_key: str | None = None) -> VendorRequest:
        """Build the free-form request; ``message_id`` is the grouping key, ``send_key`` the idempotency key."""
        return self.build_batch([BatchItem(message=message, message_id=message_id, send_key=send_key or message_id)])

    def batch_key(self, message: OutboundMessage) -> Hashable | None:
        """What the request without its recipients is made of: content, image, buttons (``None`` without a number)."""
        return (message.content, message.image_url, message.buttons) if message.phone else None

    def recipient_key(self, message: OutboundMessage) -> Hashable:
        """The number: NHN does not say what one ``recipientList`` naming a number twice does, so it never does."""
        return message.phone

    def build_batch(self, items: Sequence[BatchItem]) -> VendorRequest:
        """Build one free-form request whose ``recipientList`` has one recipient per item, in order.

        Each recipient's ``recipientGroupingKey`` is the item's message id; the idempotency key is derived from the
        items' send keys (:func:`~adapters.nhn.common.request_idempotency_key`).

        Raises:
            ValueError: An item has no phone number, or the items' contents differ (the dispatcher batches equal
                :meth:`batch_key` only: a recipient must never get another message's content).
        """
        # The gateway owns the fallback (its own LMS, with the LMS channel rules): without an explicit "no",
        # NHN follows the console's default and, where that is "resend on", sends its own SMS/LMS as well
        # (docs/vendors.md, "NHN Cloud", resendParameter).
        recipients = [
            {
                "recipientNo": _phone(item.message),
                "targeting": "I",
                "recipientGroupingKey": item.message_id,
                "resendParameter": {"isResend": False},
            }
            for item in items
        ]
        key = self.batch_key(items[0].message)
        if any(self.batch_key(item.message) != key for item in items[1:]):
            raise ValueError("a kakao batch must carry one content")
        body = _content(items[0].message, self._config.sender_key)
        body["recipientList"] = recipients
        return VendorRequest(
            method="POST",
            url=self._url,
            headers=nhn_headers(self._config.secret, request_idempotency_key([item.send_key for item in items])),
            json=body,
            secret_headers=(SECRET_HEADER,),
        )

    def classify(self, response: VendorResponse) -> Outcome:
        """Accepted with NHN's ``requestId``; ``-1005`` (idempotency key seen) and an unreadable 2xx are uncertain."""
        return classify_result(response, _parse_response, _RULES)

    def classify_batch(self, response: VendorResponse, items: Sequence[BatchItem]) -> list[Outcome]:
        """Each item by its own ``sendResults`` entry (found by ``recipientSeq`` and ``recipientNo``).

        See :func:`~adapters.nhn.common.classify_results`: ``-1005`` and an unreadable 2xx are uncertain for all.
        """
        recipients = [Recipient(item.message_id, item.message.phone) for item in items]
        return classify_results(response, _parse_response, _RULES, recipients)


def _content(message: OutboundMessage, sender_key: str) -> dict[str, Any]:
    """The free-form request without its recipients."""
    body: dict[str, Any] = {
        "senderKey": sender_key,
        "chatBubbleType": "IMAGE" if message.image_url else "TEXT",
        "pushAlarm": True,
        "adult": False,
        "content": message.content,
    }
    if message.image_url:
        body["image"] = _image(message.image_url, message.buttons)
    if message.buttons:
        body["buttons"] = [_button(button) for button in message.buttons]
    return body


def _phone(message: OutboundMessage) -> str:
    if not message.phone:
        raise ValueError("a kakao message needs a phone number")
    return message.phone


def _image(image_url: str, buttons: tuple[Button, ...]) -> dict[str, str]:
    # Tapping the image opens the first button's link; without one Kakao shows its image viewer.
    image = {"imageUrl": image_url}
    if buttons:
        image["imageLink"] = buttons[0].link_mobile
    return image


def _button(button: Button) -> dict[str, str]:
    return {"name": button.name, "type": "WL", "linkMo": button.link_mobile, "linkPc": button.link_pc}


class _SendResult(msgspec.Struct, frozen=True, rename="camel"):
    result_code: int = 0
    result_message: str = ""
    recipient_seq: int | None = None
    recipient_no: str | None = None
    # Not in the brand message answer's documented fields (the legacy friend-talk answer has it): used if present.
    recipient_grouping_key: str | None = None


class _Message(msgspec.Struct, frozen=True, rename="camel"):
    request_id: str | None = None
    send_results: list[_SendResult] = msgspec.field(default_factory=list)


class _Response(msgspec.Struct, frozen=True):
    header: ResultHeader
    message: _Message | None = None


def _parse_response(body: bytes) -> NhnResult:
    response = msgspec.json.decode(body, type=_Response, strict=False)
    message = response.message or _Message()
    recipients = tuple(
        RecipientResult(r.result_code, r.result_message, r.recipient_seq, r.recipient_no, r.recipient_grouping_key)
        for r in message.send_results
    )
    return NhnResult(response.header, message.request_id, recipients)


class _Hook(msgspec.Struct, frozen=True, rename="camel"):
    hook_id: str
    request_id: str | None = None
    recipient_seq: int | None = None
    # Documented as a string; accept a number too rather than lose the receipt.
    result_code: str | int | None = None
    result_code_name: str | None = None
    recipient_grouping_key: str | None = None
    receive_date: str | None = None
    create_date: str | None = None
    # Brand messages only (true/false; null for other types); the documented sample writes it as a string.
    is_added_channel: bool | str | None = None


def kakao_outcome(code: str | None) -> ReceiptOutcome:
    """Map a Kakao result code to a receipt outcome (``1000`` delivered; no code yet or ``3005`` in progress)."""
    if not code or code == "3005":
        return "progress"
    return "delivered" if code == "1000" else "failed"


def kakao_reason(code: str | None) -> Reason:
    """What a failed Kakao result code means: unreachable by KakaoTalk, Kakao's trouble, blocked, invalid."""
    if code in KAKAO_UNDELIVERABLE:
        return Reason.UNREACHABLE
    if code in KAKAO_RETRY_LATER:
        return Reason.RETRY_LATER
    if code in _KAKAO_BLOCKED:
        return Reason.BLOCKED
    return Reason.INVALID if code in _KAKAO_INVALID else Reason.OTHER


def parse_callback(body: bytes) -> list[Receipt]:
    """Parse a Bizmessage webhook into receipts; events other than result updates carry none.

    Raises:
        ValueError: The body is not a Bizmessage webhook.
    """
    webhook = decode_webhook(body, _Hook, PRODUCT)
    if webhook.event != MESSAGE_RESULT_UPDATE:
        return []
    return [_receipt(hook) for hook in webhook.hooks]


def _receipt(hook: _Hook) -> Receipt:
    code = str(hook.result_code) if hook.result_code not in (None, "") else None
    outcome = kakao_outcome(code)
    reason = OUTCOME_REASONS.get(outcome) or kakao_reason(code)
    # NHN documents no Kakao code for "not a channel friend" under targeting I; isAddedChannel says it directly.
    if outcome == "failed" and _not_a_friend(hook.is_added_channel):
        reason = Reason.UNREACHABLE
    return Receipt(
        vendor="nhn",
        event_id=hook.hook_id,
        outcome=outcome,
        reason=reason,
        correlation_id=hook.recipient_grouping_key,
        vendor_message_id=hook.request_id,
        code=code,
        detail=hook.result_code_name or KAKAO_RESULT_TEXT.get(code or "", ""),
        occurred_at=parse_korean_time(hook.receive_date or hook.create_date),
    )


def _not_a_friend(value: bool | str | None) -> bool:
    return value is False or (isinstance(value, str) and value.strip().lower() == "false")
