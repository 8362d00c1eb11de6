"""What the three NHN Cloud products (KakaoTalk Bizmessage, SMS, Email) share.

Every NHN answer carries ``{"header": {"resultCode", "resultMessage", "isSuccessful"}}`` and errors often arrive
with HTTP 200 and a negative ``resultCode``; the webhooks of Bizmessage and SMS share one envelope
(``hooksId``, ``productName``, ``event``, ``hooks``) and the static ``X-Toast-Webhook-Signature`` header.
Verified against the NHN Cloud docs (TOAST-DOCS SMS ``webhook.md``, KakaoTalk Bizmessage webhook API guide).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping, Sequence
from typing import Generic, TypeGuard, TypeVar

import msgspec

from adapters.base import RETRYABLE_HTTP, VendorResponse, header_value, parse_retry_after
from adapters.contract import Accepted, Outcome, Permanent, Retryable, Uncertain

__all__ = (
    "CONTENT_TYPE",
    "IDEMPOTENCY_HEADER",
    "IDEMPOTENCY_WINDOW",
    "MESSAGE_RESULT_UPDATE",
    "RESEND_AFTER",
    "SECRET_HEADER",
    "SIGNATURE_HEADER",
    "CodeRules",
    "NhnResult",
    "Recipient",
    "RecipientResult",
    "ResultHeader",
    "Webhook",
    "classify_result",
    "classify_results",
    "decode_webhook",
    "nhn_headers",
    "request_idempotency_key",
    "verify_callback",
)

SECRET_HEADER = "X-Secret-Key"  # noqa: S105 - a header name, not a secret
IDEMPOTENCY_HEADER = "X-NC-API-IDEMPOTENCY-KEY"
#: Seconds NHN refuses a repeated idempotency key (``-1005``); after that the same key sends again.
IDEMPOTENCY_WINDOW = 600.0
#: When a send with the same key may go again: NHN's window and a minute for clocks that disagree.
RESEND_AFTER = IDEMPOTENCY_WINDOW + 60.0
SIGNATURE_HEADER = "X-Toast-Webhook-Signature"
CONTENT_TYPE = "application/json;charset=UTF-8"
MESSAGE_RESULT_UPDATE = "MESSAGE_RESULT_UPDATE"

HookT = TypeVar("HookT")


def nhn_headers(secret: str, idempotency_key: str | None = None) -> dict[str, str]:
    """The headers of every NHN send: JSON content type, the secret key and, when given, the idempotency key."""
    headers = {"Content-Type": CONTENT_TYPE, SECRET_HEADER: secret}
    if idempotency_key is not None:
        headers[IDEMPOTENCY_HEADER] = idempotency_key
    return headers


class ResultHeader(msgspec.Struct, frozen=True, rename="camel"):
    """The ``header`` object of every NHN answer."""

    result_code: int
    result_message: str = ""
    is_successful: bool = False


class RecipientResult(msgspec.Struct, frozen=True):
    """One recipient's result inside an accepted request, with what tells which recipient it is."""

    code: int
    message: str
    #: The recipient's place in the request's list, from 1 (``recipientSeq``).
    seq: int | None = None
    #: ``recipientNo`` as NHN answered it.
    number: str | None = None
    #: ``recipientGroupingKey``: our message id, where the answer carries it.
    grouping_key: str | None = None


class NhnResult(msgspec.Struct, frozen=True):
    """An NHN send answer reduced to what classification needs."""

    header: ResultHeader
    request_id: str | None = None
    recipients: tuple[RecipientResult, ...] = ()
    #: The header succeeded but the request did not (NHN SMS ``body.data.statusCode`` ``"3"``, 요청 실패).
    request_failed: bool = False


class CodeRules(msgspec.Struct, frozen=True):
    """How one NHN product's negative result codes classify.

    Attributes:
        retryable: Codes that mean "try again later" (system errors).
        duplicate: Codes that mean the idempotency key was seen before (``-1005``). That says nothing about
            whether the earlier attempt was sent (it may have failed, ``-9999``, and still left the key), so it is
            :class:`Uncertain`: the lookup decides (docs/vendors.md, "NHN Cloud").
        idempotent: Whether the gateway relies on ``X-NC-API-IDEMPOTENCY-KEY`` at the product (a second line of
            defence behind the lookup).
        looked_up: Whether the product has a lookup (``adapters/nhn/lookup.py``). With either, an unreadable 2xx
            is :class:`Uncertain` and looked up; with neither it is taken as sent.
        recipient_reason: Header codes saying every recipient failed (``-1031``): the recipient's own code, when the
            answer carries one, says why, and classifies the send instead.
        retry_later: Recipient codes worth sending again, but only once NHN has forgotten the accepted
            request's idempotency key (sooner, the same key is refused as a repeat and nothing is sent).
    """

    retryable: frozenset[int]
    duplicate: frozenset[int] = frozenset()
    idempotent: bool = True
    looked_up: bool = False
    recipient_reason: frozenset[int] = frozenset()
    retry_later: frozenset[int] = frozenset()


def classify_result(response: VendorResponse, parse: Callable[[bytes], NhnResult], rules: CodeRules) -> Outcome:
    """Classify an NHN send answer to a one-recipient request (see :func:`classify_results`)."""
    return classify_results(response, parse, rules, [Recipient()])[0]


class Recipient(msgspec.Struct, frozen=True):
    """One recipient of a request, as :func:`classify_results` finds its result: our id and its number."""

    grouping_key: str | None = None
    number: str | None = None


def classify_results(
    response: VendorResponse, parse: Callable[[bytes], NhnResult], rules: CodeRules, recipients: Sequence[Recipient]
) -> list[Outcome]:
    """Classify an NHN send answer for each recipient of the request, in order.

    HTTP status first, then the header code, then each recipient's own result. A failure of the whole request is
    every recipient's outcome, except that with a header saying every recipient failed (``-1031``) each one's own
    code says why. In an accepted request a recipient is accepted, or settled by its own failed code; one whose
    result the answer does not give is :class:`Uncertain` (the lookup decides). A recipient's result is the one
    with its ``recipientGroupingKey`` or, where the answer leaves it out (brand messages), the one at its
    ``recipientSeq`` (its place in the list, from 1) with its number; the only recipient of a one-recipient
    request takes the answer's failed result, else its first.
    """
    count = len(recipients)
    retry_after = parse_retry_after(header_value(response.headers, "Retry-After"))
    try:
        result: NhnResult | None = parse(response.body)
    except (msgspec.DecodeError, msgspec.ValidationError):
        result = None
    if response.status in RETRYABLE_HTTP:
        code = str(result.header.result_code) if result else f"http-{response.status}"
        detail = result.header.result_message if result else f"HTTP {response.status}"
        return [Retryable(code, detail, retry_after)] * count
    if result is None:
        if 200 <= response.status < 300:
            return [_unreadable_success(response.status, rules)] * count
        return [Permanent(f"http-{response.status}", f"HTTP {response.status}")] * count
    header = result.header
    placed = _place(result.recipients, recipients)
    if not header.is_successful:
        whole = _by_code(header.result_code, header.result_message, rules, retry_after)
        if header.result_code not in rules.recipient_reason:
            return [whole] * count
        return [_by_code(r.code, r.message, rules, retry_after) if _failed(r) else whole for r in placed]
    outcomes: list[Outcome] = []
    for own in placed:
        if _failed(own):
            outcomes.append(_by_code(own.code, own.message, rules, retry_after))
        elif result.request_failed:
            # NHN took the call but could not request the message, naming no recipient's reason: nothing went out.
            detail = header.result_message or "NHN could not request the message"
            outcomes.append(Retryable("request-failed", detail, retry_after))
        elif not 200 <= response.status < 300:
            outcomes.append(Permanent(f"http-{response.status}", header.result_message or f"HTTP {response.status}"))
        elif own is _AMBIGUOUS or (own is None and (count > 1 or result.recipients)):
            outcomes.append(
                Uncertain("not-in-answer", f"request {result.request_id}: no one result for this recipient")
            )
        else:
            outcomes.append(Accepted(result.request_id, str(header.result_code), header.result_message))
    return outcomes


#: Stands for "two results claim this recipient": its result is not known.
_AMBIGUOUS = RecipientResult(0, "ambiguous")


def _failed(result: RecipientResult | None) -> TypeGuard[RecipientResult]:
    return result is not None and result is not _AMBIGUOUS and result.code != 0


def _place(results: Sequence[RecipientResult], recipients: Sequence[Recipient]) -> list[RecipientResult | None]:
    """Each recipient's own result (``None``: not given, :data:`_AMBIGUOUS`: given twice)."""
    if len(recipients) == 1:
        return [next((r for r in results if r.code != 0), results[0] if results else None)]
    by_key = {r.grouping_key: i for i, r in enumerate(recipients) if r.grouping_key is not None}
    placed: list[RecipientResult | None] = [None] * len(recipients)
    for result in results:
        index = by_key.get(result.grouping_key) if result.grouping_key is not None else None
        if index is None and result.seq is not None and 1 <= result.seq <= len(recipients):
            expected = recipients[result.seq - 1].number
            if result.number is None or expected is None or _digits(result.number) == _digits(expected):
                index = result.seq - 1
        if index is not None:
            placed[index] = result if placed[index] is None else _AMBIGUOUS
    return placed


def _digits(number: str) -> str:
    return "".join(char for char in number if char.isdigit())


def request_idempotency_key(send_keys: Sequence[str]) -> str:
    """The ``X-NC-API-IDEMPOTENCY-KEY`` of a request carrying messages with these send keys, in order.

    One message: its own send key, as a single send. More: a hash of them all, so the very same batch sent again
    carries the same key (NHN refuses it, ``-1005``, and each message is looked up) while a batch with other members
    (a retry of the messages not accepted) carries another and is sent (docs/vendors.md, "NHN Cloud", "Batches").
    """
    if len(send_keys) == 1:
        return send_keys[0]
    return hashlib.sha256("\n".join(send_keys).encode()).hexdigest()[:32]


def _unreadable_success(status: int, rules: CodeRules) -> Outcome:
    """A 2xx we cannot read says nothing about the send: look it up where a lookup exists, else take it as sent."""
    detail = f"HTTP {status} with an unreadable body"
    if rules.idempotent or rules.looked_up:
        return Uncertain("malformed-response", detail)
    # Sending again could send twice; taken as sent, the message ends `unknown` if no result ever comes.
    return Accepted(None, "malformed-response", f"{detail}: taken as sent rather than risk sending twice")


def _by_code(code: int, message: str, rules: CodeRules, retry_after: float | None) -> Outcome:
    if code in rules.duplicate:
        return Uncertain(
            str(code), f"the idempotency key was seen before, the earlier attempt may have failed: {message}"
        )
    if code in rules.retryable:
        return Retryable(str(code), message, retry_after)
    if code in rules.retry_later:
        return Retryable(str(code), message, max(retry_after or 0.0, RESEND_AFTER))
    return Permanent(str(code), message)


def verify_callback(headers: Mapping[str, str], expected: str | None) -> bool:
    """Check a webhook's static ``X-Toast-Webhook-Signature`` in constant time; nothing configured means no match."""
    received = header_value(headers, SIGNATURE_HEADER)
    if not received or not expected:
        return False
    return hmac.compare_digest(received.encode(), expected.encode())


class Webhook(msgspec.Struct, Generic[HookT], frozen=True, rename="camel"):
    """The envelope NHN posts to a webhook URL."""

    hooks_id: str
    product_name: str
    event: str
    hooks: list[HookT]
    webhook_config_id: str | None = None
    app_key: str | None = None


def decode_webhook(body: bytes, hook_type: type[HookT], product: str) -> Webhook[HookT]:
    """Decode a webhook body of ``product``; raise ``ValueError`` naming what is wrong."""
    try:
        webhook = msgspec.json.decode(body, type=Webhook[hook_type], strict=False)  # type: ignore[valid-type]
    except msgspec.ValidationError as exc:
        raise ValueError(f"malformed NHN webhook: {exc}") from exc
    except msgspec.DecodeError as exc:
        raise ValueError(f"NHN webhook body is not JSON: {exc}") from exc
    # NHN's own examples spell the product "Sms" as well as "SMS".
    if webhook.product_name.lower() != product.lower():
        raise ValueError(f"NHN webhook is for {webhook.product_name!r}, not {product!r}")
    return webhook
