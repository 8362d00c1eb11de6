"""SendGrid v3 Mail Send for email, and SendGrid's signed Event Webhook.

Verified from twilio.com/docs/sendgrid: the mail/send body (``personalizations`` with ``to`` and ``custom_args``,
``from``, ``subject``, ``content`` with text/plain first), ``202`` with the ``X-Message-Id`` header, error bodies
``{"errors": [{"message", "field", "help"}]}``, ``X-RateLimit-Reset`` as a unix time; the Event Webhook security
guide (ECDSA P-256, SHA-256 over timestamp + raw body, headers ``X-Twilio-Email-Event-Webhook-Signature`` and
``-Timestamp``, public key as base64 DER without PEM framing). The official SDKs' event-webhook tests
(sendgrid-python, sendgrid-ruby fixtures) gave the signed test vector and a real ``dropped`` event, whose
``sg_message_id`` is the ``X-Message-Id`` plus a ``.filter...`` suffix. Custom args arrive flattened into each
event object.

Batches (docs/vendors.md, "SendGrid", "Batches"): one request carries one mail to up to 1,000 personalizations, so
messages batch when everything but the recipient is equal; each personalization has its own ``to`` and our id in
its ``custom_args``, so every event still names its message. SendGrid answers for the whole request, and refuses
one that names an address twice.
"""

from __future__ import annotations

import base64
import binascii
import html
import re
import time
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, ClassVar

import msgspec
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from adapters.base import RETRYABLE_HTTP, VendorRequest, VendorResponse, header_value, parse_retry_after
from adapters.batch import BatchItem
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
from adapters.sendgrid.config import SendGridConfig

__all__ = (
    "SEND_PATH",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "SendGridAdapter",
    "message_id_prefix",
    "parse_callback",
    "reason",
    "verify_signature",
)

SEND_PATH = "/v3/mail/send"
#: The opt-out notice of advertising mail, in Korean and English as the law asks (docs/vendors.md, "Email, any
#: vendor"). SendGrid's subscription tracking turns ``<% ... %>`` into its unsubscribe link and appends the text
#: and HTML to the two parts (Mail Send v3, ``tracking_settings.subscription_tracking``).
_SUBSCRIPTION_TRACKING = {
    "enable": True,
    "text": "메일 수신을 원치 않으시면 수신거부를 눌러 주세요. If you do not want to receive it, unsubscribe: <% %>",
    "html": '<p style="font-size:12px;color:#666">메일 수신을 원치 않으시면 <% [수신거부] %>를 클릭하세요.<br>'
    "If you do not want to receive it, please click <% [Unsubscription] %>.</p>",
}
SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
#: Bounce reasons and error messages can quote the address; receipts and attempts keep them without it.
_EMAIL = re.compile(r"[^\s<>\"'@]+@[^\s<>\"'@]+")
#: Plain words for support staff (Korean, then English) for every code this adapter reports: Event Webhook
#: events (``blocked`` is a bounce of type blocked) and the HTTP answers of ``mail/send``.
CODE_TEXT = {
    "processed": "SendGrid가 접수해 보낼 준비를 함 · SendGrid took it and is sending",
    "deferred": "받는 서버가 잠시 거절해 SendGrid가 다시 보내는 중 (최대 72시간) · the receiving server deferred it; "
    "SendGrid keeps trying (up to 72 hours)",
    "delivered": "받는 메일 서버가 받음 · accepted by the recipient's mail server",
    "bounce": "받는 서버가 거절함 (없는 주소 등) · the receiving server refused it (e.g. no such address)",
    "blocked": "받는 서버가 막음 (스팸 정책 등) · the receiving server blocked it (e.g. a spam policy)",
    "dropped": "SendGrid가 보내지 않음 (이전 반송, 수신 거부 등) · SendGrid did not send it (earlier bounce, "
    "unsubscribe, ...)",
    "http_400": "SendGrid가 요청을 거절함 (잘못된 내용) · SendGrid refused the request as invalid",
    "http_401": "SendGrid API 키가 잘못됨: 설정 확인 · SendGrid refused the API key: check the gateway's settings",
    "http_403": "SendGrid API 키에 권한이 없음 (발신자 인증 등) · the API key lacks permission (e.g. sender not "
    "verified)",
    "http_413": "메일이 너무 큼 · the email is too large",
    "http_429": "SendGrid 발송 한도 초과: 다시 시도 · SendGrid's rate limit: tried again",
}
_OUTCOMES: dict[str, ReceiptOutcome] = {
    "processed": "progress",
    "deferred": "progress",
    "delivered": "delivered",
    "bounce": "failed",
    "dropped": "failed",
    "blocked": "failed",
}


class SendGridAdapter:
    """Email through SendGrid v3 ``mail/send``: a text/plain and a text/html part, our id in ``custom_args``."""

    vendor: ClassVar[str] = "sendgrid"
    channel: ClassVar[Channel] = "email"
    # The v3 mail send takes no idempotency key.
    idempotent: ClassVar[bool] = False
    #: Personalizations per request: "limited to 1000 personalizations per API request", and at most 1,000
    #: recipients in all; each message is one personalization with one ``to`` (docs/vendors.md, "SendGrid").
    max_batch: ClassVar[int] = 1000

    def __init__(self, config: SendGridConfig, *, clock: Callable[[], float] = time.time) -> None:
        self._config = config
        self._clock = clock

    def build(self, message: OutboundMessage, message_id: str, *, send_key: str | None = None) -> VendorRequest:
        """Build the mail/send request; ``message.text`` is the plain part and ``message.content`` the HTML."""
        return self.build_batch([BatchItem(message=message, message_id=message_id, send_key=send_key or message_id)])

    def batch_key(self, message: OutboundMessage) -> Hashable | None:
        """What the mail without its recipient is made of: subject, both parts, advertising (``None``: cannot be built).

        The sender and the opt-out settings are the adapter's own, the same for every message.
        """
        return (
            (message.subject, message.text, message.content, message.ad) if message.email and message.subject else None
        )

    def recipient_key(self, message: OutboundMessage) -> Hashable:
        """The address: SendGrid refuses a request naming one address twice (docs/vendors.md, "SendGrid")."""
        return (message.email or "").lower()

    def build_batch(self, items: Sequence[BatchItem]) -> VendorRequest:
        """Build one mail/send request with one personalization per item (its ``to`` and our id), in order.

        Raises:
            ValueError: An item has no address or subject, the items' mails differ (see :meth:`batch_key`), or two
                items go to one address (the dispatcher puts those in separate requests).
        """
        # SendGrid keeps custom_args as non-personal data: only our opaque id goes there.
        personalizations = [
            {"to": [{"email": _address(item.message)}], "custom_args": {"gateway_id": item.message_id}}
            for item in items
        ]
        if len({self.recipient_key(item.message) for item in items}) < len(items):
            raise ValueError("a SendGrid request must name each address once")
        key = self.batch_key(items[0].message)
        if any(self.batch_key(item.message) != key for item in items[1:]):
            raise ValueError("a SendGrid batch must carry one mail")
        body = self._content(items[0].message)
        return VendorRequest(
            method="POST",
            url=self._config.url.rstrip("/") + SEND_PATH,
            headers={"Authorization": f"Bearer {self._config.api_key}", "Content-Type": "application/json"},
            json={"personalizations": personalizations, **body},
            secret_headers=("Authorization",),
        )

    def classify_batch(self, response: VendorResponse, items: Sequence[BatchItem]) -> list[Outcome]:
        """SendGrid answers for the whole request (202 queues every personalization): one outcome for all."""
        return [self.classify(response)] * len(items)

    def _content(self, message: OutboundMessage) -> dict[str, Any]:
        """The mail/send body without its personalizations."""
        sender = {"email": self._config.from_email}
        if self._config.from_name:
            sender["name"] = self._config.from_name
        text, markup = message.text, message.content
        if message.ad and self._config.unsubscribe_url:
            text, markup = _with_opt_out(text, markup, self._config.unsubscribe_url)
        content = [{"type": "text/plain", "value": text}] if text else []
        content.append({"type": "text/html", "value": markup})
        body: dict[str, Any] = {
            "from": sender,
            # An advertising subject already starts with (광고) (gateway/channels/email.py).
            "subject": message.subject,
            "content": content,
        }
        if message.ad and not self._config.unsubscribe_url:
            body["tracking_settings"] = {"subscription_tracking": _SUBSCRIPTION_TRACKING}
        return body

    def classify(self, response: VendorResponse) -> Outcome:
        """Classify SendGrid's answer.

        2xx (``202``) is accepted with the ``X-Message-Id`` header. 429 (waiting until ``X-RateLimit-Reset``),
        408, 425 and 5xx are retryable; other 4xx (400, 401, 403, 413) are permanent.
        """
        headers = response.headers
        if 200 <= response.status < 300:
            return Accepted(header_value(headers, "X-Message-Id"), detail=f"queued ({response.status})")
        code, detail = f"http_{response.status}", _errors(response.body)
        if response.status in RETRYABLE_HTTP or response.status >= 500:
            return Retryable(code, detail, self._retry_after(headers))
        return Permanent(code, detail)

    def _retry_after(self, headers: Mapping[str, str]) -> float | None:
        reset = header_value(headers, "X-RateLimit-Reset")
        if reset and reset.strip().isdigit():
            return max(0.0, int(reset) - self._clock())
        return parse_retry_after(header_value(headers, "Retry-After"), now=self._clock())


def _address(message: OutboundMessage) -> str:
    if not message.email or not message.subject:
        raise ValueError("an email message needs an address and a subject")
    return message.email


class _Error(msgspec.Struct):
    message: str = ""
    field: str | None = None


class _Errors(msgspec.Struct):
    errors: list[_Error] = []


def _errors(body: bytes) -> str:
    """SendGrid's error messages as one line, each prefixed with its field."""
    try:
        errors = msgspec.json.decode(body, type=_Errors).errors
    except msgspec.DecodeError:
        return _scrub(body[:200].decode("utf-8", "replace"))
    return _scrub("; ".join(f"{e.field}: {e.message}" if e.field else e.message for e in errors))


def _scrub(text: str) -> str:
    return _EMAIL.sub("[email]", text)


def verify_signature(
    public_key_b64: str, signature_b64: str, timestamp: str, body: bytes, *, now: float, max_age: float = 600
) -> bool:
    """Check an Event Webhook call: ECDSA P-256 / SHA-256 over ``timestamp + body``, timestamp within ``max_age``.

    Args:
        public_key_b64: The verification key from SendGrid's settings (base64 DER, no PEM framing).
        signature_b64: The ``X-Twilio-Email-Event-Webhook-Signature`` header (base64 DER signature).
        timestamp: The ``X-Twilio-Email-Event-Webhook-Timestamp`` header (unix seconds).
        body: The raw request body, byte for byte.
        now: The current POSIX time.
        max_age: How far (seconds) the timestamp may be from ``now``; replays of older calls are refused.
    """
    if not timestamp.isdigit() or abs(now - int(timestamp)) > max_age:
        return False
    try:
        key = serialization.load_der_public_key(base64.b64decode(public_key_b64, validate=True))
        if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
            return False
        key.verify(base64.b64decode(signature_b64, validate=True), timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    except (binascii.Error, ValueError, UnsupportedAlgorithm, InvalidSignature):
        return False
    return True


def message_id_prefix(sg_message_id: str) -> str:
    """The ``X-Message-Id`` an event's ``sg_message_id`` belongs to (the part before the first dot)."""
    return sg_message_id.split(".", 1)[0]


class _Event(msgspec.Struct):
    # The recipient address is in every event too; it is left undecoded on purpose.
    event: str
    sg_event_id: str
    timestamp: float | None = None
    sg_message_id: str | None = None
    gateway_id: str | None = None
    type: str | None = None
    reason: str | None = None
    response: str | None = None


def reason(code: str | None) -> Reason:
    """What a failed event means: a bounce bounced; a blocked bounce or a drop (a suppressed address) is blocked."""
    if code == "bounce":
        return Reason.BOUNCED
    return Reason.BLOCKED if code in ("blocked", "dropped") else Reason.OTHER


def parse_callback(body: bytes) -> list[Receipt]:
    """Parse an Event Webhook body (a JSON array of events) into receipts.

    ``delivered`` is delivered; ``bounce`` (including its ``blocked`` type), ``dropped`` and ``blocked`` failed;
    ``processed``, ``deferred`` and engagement events (``open``, ``click``, ...) are progress, kept with their name
    as the code. Authenticate the call with :func:`verify_signature` first.

    Raises:
        ValueError: The body is not a JSON array of events.
    """
    try:
        events = msgspec.json.decode(body, type=list[_Event])
    except msgspec.DecodeError as exc:
        raise ValueError(f"malformed SendGrid event body: {exc}") from exc
    return [_receipt(event) for event in events]


def _receipt(event: _Event) -> Receipt:
    code = "blocked" if event.event == "bounce" and event.type == "blocked" else event.event
    outcome = _OUTCOMES.get(event.event, "progress")
    return Receipt(
        vendor="sendgrid",
        event_id=event.sg_event_id,
        outcome=outcome,
        reason=OUTCOME_REASONS.get(outcome) or reason(code),
        correlation_id=event.gateway_id,
        vendor_message_id=message_id_prefix(event.sg_message_id) if event.sg_message_id else None,
        code=code,
        detail=_scrub(event.reason or event.response or ""),
        occurred_at=event.timestamp,
    )


def _with_opt_out(text: str | None, markup: str, url: str) -> tuple[str | None, str]:
    """Both parts with the opt-out notice linking to the configured unsubscribe page."""
    link = html.escape(url, quote=True)
    markup += (
        f'<p style="font-size:12px;color:#666">메일 수신을 원치 않으시면 <a href="{link}">[수신거부]</a>를 '
        f'클릭하세요.<br>If you do not want to receive it, please click <a href="{link}">[Unsubscription]</a>.</p>'
    )
    notice = f"메일 수신을 원치 않으시면 수신거부: {url}\nIf you do not want to receive it, unsubscribe: {url}"
    return (f"{text}\n\n{notice}" if text else notice), markup
