"""Emulator of SendGrid's v3 Mail Send (``api.sendgrid.com``) and of its signed Event Webhook.

It checks what SendGrid checks: the bearer API key (401), the verified sender (403), the body size (413), the
JSON body field by field (400 listing every error as ``{"errors": [{"message", "field", "help"}]}``: at most 1,000
personalizations and 1,000 recipients, each address once); a good request gets ``202`` with an empty body and an
``X-Message-Id`` header, one for the whole request, which every recipient's events carry. Each accepted recipient
later yields a ``processed`` event and a final one (``delivered`` unless :attr:`SendGridEmulator.outcomes` names
``bounce``, ``blocked``, ``dropped`` or ``deferred`` for the address), signed with a key pair the emulator
generates: give :attr:`SendGridEmulator.public_key` to whoever verifies them.
"""

from __future__ import annotations

import base64
import hmac
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import msgspec
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from email_validator import EmailNotValidError, validate_email

from adapters.emulator import EmulatedCallback, Emulator
from adapters.sendgrid.adapter import SEND_PATH, SIGNATURE_HEADER, TIMESTAMP_HEADER
from adapters.sendgrid.config import SendGridConfig

__all__ = ("SendGridEmulator",)

_JSON = msgspec.json.Encoder()
_MAX_BODY = 30 * 1024 * 1024
#: "limited to 1000 personalizations per API request", "a limit of 1000 total recipients (to + cc + bcc)" (Mail
#: Send errors page, docs/vendors.md).
_MAX_PERSONALIZATIONS = 1000
_MAX_RECIPIENTS = 1000
_MAX_CUSTOM_ARGS_BYTES = 10_000
_HELP = "http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html#message."
_HTTP_MESSAGES = {
    400: "Bad Request",
    401: "The provided authorization grant is invalid, expired, or revoked",
    403: "access forbidden",
    404: "resource not found",
    413: "The JSON payload you have included in your request is too large.",
    429: "too many requests",
    500: "internal server error",
    503: "service unavailable",
}
#: The final event, and its details, for each outcome a recipient can be given.
_FINAL_EVENTS: dict[str, dict[str, Any]] = {
    "delivered": {"event": "delivered", "response": "250 2.0.0 OK"},
    "deferred": {"event": "deferred", "response": "421 4.7.0 Try again later", "attempt": "1"},
    "bounce": {
        "event": "bounce",
        "type": "bounce",
        "status": "5.1.1",
        "reason": "550 5.1.1 The email account that you tried to reach does not exist.",
        "bounce_classification": "Invalid Address",
    },
    "blocked": {
        "event": "bounce",
        "type": "blocked",
        "status": "5.7.1",
        "reason": "550 5.7.1 Message rejected due to local policy.",
        "bounce_classification": "Reputation",
    },
    "dropped": {"event": "dropped", "reason": "Bounced Address"},
}

_Error = dict[str, str | None]


class _Sent(msgspec.Struct):
    message_id: str
    email: str
    custom_args: dict[str, str]


class SendGridEmulator(Emulator):
    """SendGrid's mail/send endpoint, plus the signed events of what it accepted.

    Args:
        config: The adapter's config: the API key and verified sender it accepts.
        latency: Seconds added to every answer.
        clock: POSIX time source for event timestamps and rate-limit headers.
        outcomes: Recipient address -> its final event: ``delivered`` (default), ``deferred``, ``bounce``,
            ``blocked`` or ``dropped``.
    """

    def __init__(
        self,
        config: SendGridConfig,
        *,
        latency: float = 0.0,
        clock: Callable[[], float] = time.time,
        outcomes: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(config.url, latency=latency)
        self.config = config
        self.outcomes: dict[str, str] = dict(outcomes or {})
        self._clock = clock
        self._private_key = ec.generate_private_key(ec.SECP256R1())
        self._pending: list[_Sent] = []

    @property
    def public_key(self) -> str:
        """The Event Webhook verification key, base64 DER without PEM framing, as SendGrid's settings show it."""
        der = self._private_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return base64.b64encode(der).decode()

    def reset(self) -> None:
        """Forget requests, faults and unreported messages."""
        super().reset()
        self._pending.clear()

    def accept(self, request: httpx.Request) -> httpx.Response:
        """Authenticate and validate like SendGrid; ``202`` with ``X-Message-Id`` when the mail is queued."""
        if request.method != "POST" or request.url.path != SEND_PATH:
            return _errors(request, 404, [_error(_HTTP_MESSAGES[404])])
        refused = self._refusal(request)
        if refused:
            return refused
        try:
            body = msgspec.json.decode(request.content)
        except msgspec.DecodeError:
            return _errors(request, 400, [_error(_HTTP_MESSAGES[400])])
        errors = _body_errors(body)
        if errors:
            return _errors(request, 400, errors)
        if body["from"]["email"].lower() != self.config.from_email.lower():
            return _errors(request, 403, [_error(_UNVERIFIED_SENDER, "from")])
        message_id = _new_id(22)
        for personalization in body["personalizations"]:
            custom_args = {**body.get("custom_args", {}), **personalization.get("custom_args", {})}
            self._pending.extend(_Sent(message_id, to["email"], custom_args) for to in personalization["to"])
        return httpx.Response(202, headers={"X-Message-Id": message_id}, request=request)

    def error(self, request: httpx.Request, *, http_status: int, vendor_code: str | None) -> httpx.Response:
        """Answer with SendGrid's error body for ``http_status``.

        SendGrid has no result codes of its own: a ``vendor_code`` becomes a 400 about that field.
        """
        if vendor_code:
            return _errors(request, 400, [_error(f"emulated error: {vendor_code}", vendor_code)])
        response = _errors(request, http_status, [_error(_HTTP_MESSAGES.get(http_status, "internal error"))])
        if http_status == 429:
            reset = str(int(self._clock()) + 1)
            response.headers.update(
                {"X-RateLimit-Limit": "600", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}
            )
        return response

    async def handle(self, request: httpx.Request) -> httpx.Response:
        """Answer like :meth:`Emulator.handle`, stating a scripted 429 wait the way SendGrid does."""
        response = await super().handle(request)
        retry_after = response.headers.get("Retry-After")
        if response.status_code == 429 and retry_after:
            # SendGrid gives the wait as the unix time its rate limit resets, not as Retry-After.
            del response.headers["Retry-After"]
            response.headers["X-RateLimit-Reset"] = str(int(self._clock() + float(retry_after)))
        return response

    def pending_callbacks(self, *, signature: str = "") -> list[EmulatedCallback]:
        """One signed Event Webhook call with the events of every recipient accepted since the last call.

        SendGrid signs with its own key pair (:attr:`public_key`), so ``signature`` is unused.
        """
        if not self._pending:
            return []
        events = [event for sent in self._pending for event in self._events(sent)]
        self._pending.clear()
        # SendGrid's posts end with CRLF, and the signature covers it.
        body = _JSON.encode(events) + b"\r\n"
        timestamp = str(int(self._clock()))
        signed = self._private_key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: base64.b64encode(signed).decode(),
            TIMESTAMP_HEADER: timestamp,
        }
        return [EmulatedCallback(path="sendgrid", headers=headers, body=body)]

    def _refusal(self, request: httpx.Request) -> httpx.Response | None:
        authorization = request.headers.get("Authorization")
        if not authorization:
            return _errors(request, 401, [_error("authorization required")])
        if not hmac.compare_digest(authorization.encode(), f"Bearer {self.config.api_key}".encode()):
            return _errors(request, 401, [_error(_HTTP_MESSAGES[401])])
        if len(request.content) > _MAX_BODY:
            return _errors(request, 413, [_error(_HTTP_MESSAGES[413])])
        if not request.headers.get("Content-Type", "").startswith("application/json"):
            return _errors(request, 415, [_error("Content-Type should be application/json.")])
        return None

    def _events(self, sent: _Sent) -> list[dict[str, Any]]:
        outcome = self.outcomes.get(sent.email, "delivered")
        timestamp = int(self._clock())
        common = {
            "email": sent.email,
            "timestamp": timestamp,
            "smtp-id": f"<{sent.message_id}@emulated.sendgrid.net>",
            "sg_message_id": f"{sent.message_id}.filterdrecv-emulated-{_new_id(6)}-1.0",
            **sent.custom_args,
        }
        processed = {**common, "event": "processed", "sg_event_id": _new_id(32)}
        return [processed, {**common, **_FINAL_EVENTS[outcome], "sg_event_id": _new_id(32)}]


_TO_REQUIRED = (
    "The to array is required for all personalization objects, and must have at least one email object with a "
    "valid email address."
)
_UNVERIFIED_SENDER = (
    "The from address does not match a verified Sender Identity. Mail cannot be sent until this error is "
    "resolved. Visit https://sendgrid.com/docs/for-developers/sending-email/sender-identity/ to see the Sender "
    "Identity requirements"
)


def _body_errors(body: Any) -> list[_Error]:
    """Every validation error SendGrid reports for a mail/send body."""
    if not isinstance(body, dict):
        return [_error(_HTTP_MESSAGES[400])]
    return [
        *_personalization_errors(body.get("personalizations")),
        *_custom_args_errors(body.get("custom_args", {}), "custom_args"),
        *_sender_errors(body),
        *_content_errors(body),
    ]


def _personalization_errors(personalizations: object) -> list[_Error]:
    if not isinstance(personalizations, list) or not personalizations:
        message = "The personalizations field is required and must have at least one personalization."
        return [_error(message, "personalizations", "personalizations")]
    if len(personalizations) > _MAX_PERSONALIZATIONS:
        message = (
            f"The personalization block is limited to 1000 personalizations per API request. You have provided "
            f"{len(personalizations)} personalizations. Please consider splitting this into multiple requests and "
            "resending your request."
        )
        return [_error(message, "personalizations", "personalizations")]
    errors: list[_Error] = []
    addresses: list[str] = []
    for i, personalization in enumerate(personalizations):
        to = personalization.get("to") if isinstance(personalization, dict) else None
        if not isinstance(to, list) or not to:
            errors.append(_error(_TO_REQUIRED, f"personalizations.{i}.to", "personalizations.to"))
            continue
        for j, address in enumerate(to):
            if not isinstance(address, dict) or not _valid_email(address.get("email")):
                field = f"personalizations.{i}.to.{j}.email"
                errors.append(_error("Does not contain a valid address.", field, "personalizations.to"))
            else:
                addresses.append(address["email"].lower())
        errors.extend(_custom_args_errors(personalization.get("custom_args", {}), f"personalizations.{i}.custom_args"))
    if len(addresses) > _MAX_RECIPIENTS:
        message = "There is a limit of 1000 total recipients (to + cc + bcc) per request."
        errors.append(_error(message, "personalizations", "personalizations"))
    if len(set(addresses)) < len(addresses):
        message = (
            "Each unique email address in the personalizations array should only be included once. You have "
            "included email address more than once."
        )
        errors.append(_error(message, "personalizations", "personalizations"))
    return errors


def _custom_args_errors(custom_args: object, field: str) -> list[_Error]:
    if not isinstance(custom_args, dict) or not all(isinstance(v, str) for v in custom_args.values()):
        return [_error("Invalid type. Expected: string, given: other.", field, "personalizations.custom_args")]
    if len(_JSON.encode(custom_args)) > _MAX_CUSTOM_ARGS_BYTES:
        message = "The custom_args supplied must be less than 10000 bytes."
        return [_error(message, field, "personalizations.custom_args")]
    return []


def _sender_errors(body: dict[str, Any]) -> list[_Error]:
    errors: list[_Error] = []
    sender = body.get("from")
    if not isinstance(sender, dict) or not _valid_email(sender.get("email")):
        errors.append(_error("The from email does not contain a valid address.", "from.email", "from"))
    subject = body.get("subject")
    if not isinstance(subject, str) or not subject:
        message = (
            "The subject is required. You can get around this requirement if you use a template with a subject "
            "defined or if every personalization has a subject defined."
        )
        errors.append(_error(message, "subject", "subject"))
    return errors


def _content_errors(body: dict[str, Any]) -> list[_Error]:
    content = body.get("content")
    if not isinstance(content, list) or not content:
        message = (
            "Unless a valid template_id is provided, the content parameter is required. There must be at least one "
            "defined content block. We typically suggest both text/plain and text/html blocks are included, but "
            "only one block is required."
        )
        return [_error(message, "content", "content")]
    errors: list[_Error] = []
    for i, block in enumerate(content):
        if not isinstance(block, dict) or not isinstance(block.get("value"), str) or not block["value"]:
            message = "The content value must be a string at least one character in length."
            errors.append(_error(message, f"content.{i}.value", "content.value"))
    types = [block.get("type") for block in content if isinstance(block, dict)]
    if "text/plain" in types and types.index("text/plain") != 0:
        message = "If present, text/plain must be first, followed by text/html, followed by any other content."
        errors.append(_error(message, "content", "content"))
    return errors


def _valid_email(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


def _error(message: str, field: str | None = None, help_anchor: str | None = None) -> _Error:
    return {"message": message, "field": field, "help": _HELP + help_anchor if help_anchor else None}


def _errors(request: httpx.Request, status: int, errors: list[_Error]) -> httpx.Response:
    return Emulator.json_response(status, {"errors": errors}, request)


def _new_id(length: int) -> str:
    """A random id in SendGrid's URL-safe base64 alphabet."""
    return secrets.token_urlsafe(length)[:length]
