"""``POST /v1/braze/messages``: the Braze webhook endpoint (docs/ARCHITECTURE.md, "Ingest").

Every 4xx but 401 (and 429, the gateway's own overload) is kept as a refusal for support (issue 11); keys the
gateway does not read are named in the answer; an explicit idempotency key reused for a different message is a
409 (Stripe's contract), while a repeat under the same Braze ids with other content stays a duplicate (Braze may
re-render a retry) that is counted, logged and written on the first message's timeline.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl

import msgspec
from litestar import Request, Response, post
from litestar.datastructures import State
from litestar.exceptions import HTTPException
from litestar.openapi.datastructures import ResponseSpec

from adapters.registry import product_of
from gateway import metrics
from gateway.api.auth import check_ingest_token
from gateway.api.ingest_doc import IngestOperation
from gateway.api.preview import PreviewAnswer, preview, read_dry_run
from gateway.api.problems import BEARER, Problem, problem_responses
from gateway.api.support import is_erased
from gateway.events import log_event, status_changed
from gateway.models import NewMessage, OutboundMessage, Status, new_message_id
from gateway.normalise.errors import FieldError, InvalidMessage
from gateway.normalise.idempotency import changed_fields, is_explicit
from gateway.normalise.inbound import idempotency_key, normalise_body
from gateway.normalise.json_body import BodyError, decode_object
from gateway.normalise.limits import FIELD_LIMITS
from gateway.normalise.unknown_keys import IgnoredField, ignored_fields
from gateway.refusals import refusal_of
from gateway.store.base import StoreUnavailable

__all__ = ("IngestAnswer", "IngestHeaders", "ingest", "receive_braze_message")

_log = logging.getLogger(__name__)
_FORM = "application/x-www-form-urlencoded"
#: Refusals kept for support: the sender's mistakes. 401 is only counted and logged (an unauthenticated caller
#: must not write to the store); 429 and 503 are the gateway's own trouble.
_KEPT = frozenset({400, 409, 413, 415, 422})
_OUTCOMES = {400: "malformed", 409: "conflict", 413: "too_large", 415: "unsupported", 422: "invalid"}
_AS_JSON = "send Content-Type: application/json"
#: The counter of stored messages, looked up once: ``labels`` takes a lock and checks its arguments every call.
_QUEUED = metrics.INGEST.labels("queued")


class IngestAnswer(msgspec.Struct):
    """What Braze gets back: the message id, its status, whether it was a repeat and the keys not read."""

    messageId: str
    status: str
    duplicate: bool
    #: Body keys the gateway does not read, each with the known key it resembles (a likely typo), if any.
    ignoredFields: list[IgnoredField] = msgspec.field(default_factory=list)


#: What ingest answers: a stored message or a repeat (:class:`IngestAnswer`), or a dry run's preview.
_Answer = Response[IngestAnswer | PreviewAnswer]


class IngestHeaders(msgspec.Struct, frozen=True):
    """The request headers ingest reads: the first of repeated ones, as Litestar's ``Headers.get`` gives them."""

    authorization: str = ""
    content_type: str = ""
    idempotency_key: str | None = None
    dry_run: str | None = None

    @classmethod
    def of(cls, headers: Mapping[str, str]) -> IngestHeaders:
        """Read them from a request's headers (case-insensitive)."""
        return cls(
            headers.get("authorization", ""),
            headers.get("content-type", ""),
            headers.get("idempotency-key"),
            headers.get("dry-run"),
        )


class _Intake:
    """What was read of the request so far, for the refusal record."""

    def __init__(self, content_type: str) -> None:
        self.content_type = content_type
        self.raw: bytes | None = None
        self.body: dict[str, Any] | None = None


@post(
    "/v1/braze/messages",
    operation_id="receiveBrazeMessage",
    summary="Receive one rendered Braze webhook body",
    description="Authenticates, validates and normalises the body, stores it durably and answers 202. Keys the "
    "gateway does not read are listed in `ignoredFields`. A repeat within the idempotency window answers 200 with "
    "the first message's id. Idempotency keys (the `Idempotency-Key` header, else `idempotencyKey`, else the Braze "
    "ids, else the normalised message) are scoped to the user and the channel: the same key from two users makes "
    "two messages. An explicit key reused by the same user for a different message is a 409 naming the first "
    "message. Every 4xx but 401 is kept for support (`GET /v1/admin/refusals`). A dry run (`dryRun: true`, or the "
    "header `Dry-Run: true`) answers 200 with a preview and stores nothing.",
    status_code=202,
    tags=["ingest"],
    security=BEARER,
    operation_class=IngestOperation,
    responses={
        200: ResponseSpec(
            IngestAnswer | PreviewAnswer,
            description="A repeat within the idempotency window: the first message's id, `duplicate: true`; or, for "
            "a dry run (`dryRun: true` in the body or the `Dry-Run: true` header), the preview of what would be "
            "sent: nothing is stored or sent",
            generate_examples=False,
        ),
        **problem_responses(400, 401, 409, 413, 415, 422, 429, 503),
    },
)
async def receive_braze_message(request: Request[Any, Any, State]) -> _Answer:
    """Store a Braze message durably; a repeat within the idempotency window answers 200 with the first id.

    A dry run (``dryRun`` in the body or the ``Dry-Run`` header) is answered 200 with its preview instead, and
    nothing is stored or sent. The gateway's app answers this route on its ASGI fast path
    (:mod:`gateway.api.ingest_asgi`); this handler documents it and answers what the fast path leaves to Litestar.
    """
    status, answer = await ingest(request.app.state, IngestHeaders.of(request.headers), request.body)
    return Response(answer, status_code=status)


async def ingest(
    state: State, headers: IngestHeaders, read_body: Callable[[], Awaitable[bytes]]
) -> tuple[int, IngestAnswer | PreviewAnswer]:
    """Authenticate, read, normalise and store one Braze message; return the status and the answer.

    Args:
        state: The app's state (settings, store, dispatcher ...).
        headers: The request's headers that ingest reads.
        read_body: Reads the whole body, raising Litestar's 413 past the size limit.

    Raises:
        Problem: A refusal (kept for support when :data:`_KEPT`); Litestar's ``HTTPException`` from ``read_body``.
    """
    # Authenticated here rather than by a route guard: Litestar copies the handler for every guard call, and on
    # the hottest route that copy costs more than the check.
    try:
        check_ingest_token(headers.authorization, state.settings.ingest_tokens)
    except Problem:
        metrics.INGEST.labels("unauthorised").inc()
        metrics.REFUSED.labels("401").inc()
        log_event("ingest.unauthorised", level=logging.WARNING, http_status=401)
        raise
    if state.monitor.overloaded:
        metrics.INGEST.labels("overloaded").inc()
        raise Problem(429, "The gateway's queue is full; retry later.", headers={"Retry-After": "30"})
    intake = _Intake(headers.content_type)
    try:
        return await _receive(state, headers, read_body, intake)
    except Problem as refused:
        if refused.status in _KEPT:
            await _keep_refusal(state, intake, refused)
        raise
    except HTTPException as exc:
        if exc.status_code == 413:
            await _keep_refusal(state, intake, Problem(413, "The request body is larger than this gateway accepts."))
        raise


async def _receive(
    state: State, headers: IngestHeaders, read_body: Callable[[], Awaitable[bytes]], intake: _Intake
) -> tuple[int, IngestAnswer | PreviewAnswer]:
    intake.raw = await read_body()
    intake.body = body = _parse_body(intake.content_type, intake.raw)
    ignored = ignored_fields(body)
    dry_run, errors = read_dry_run(headers.dry_run, body)
    try:
        message = normalise_body(body, state.policy)
    except InvalidMessage as exc:
        errors += exc.errors
        raise Problem(422, _summary(len(errors)), errors=errors) from None
    header_key = headers.idempotency_key
    if header_key is not None and len(header_key) > FIELD_LIMITS["idempotencyKey"]:
        limit = FIELD_LIMITS["idempotencyKey"]
        errors.append(FieldError("Idempotency-Key", f"at most {limit:,} characters are allowed"))
    vendor = message.vendor or state.settings.vendor_for(message.channel)
    if (vendor, message.channel) not in state.runtime.adapters:
        errors.append(FieldError("vendor", f"{vendor} is not configured for {message.channel} on this gateway."))
    if errors:
        raise Problem(422, _summary(len(errors)), errors=errors)
    if dry_run:
        metrics.INGEST.labels("preview").inc()
        return 200, _preview(body, message, vendor, state, ignored)
    now = state.clock()
    reason = "received" + (f"; fields not read: {', '.join(map(str, ignored))}" if ignored else "")
    new = NewMessage(
        id=new_message_id(),
        idempotency_key=idempotency_key(header_key, body, message),
        vendor=vendor,
        message=message,
        raw_body=intake.raw,
        status=Status.QUEUED,
        next_attempt_at=now,
        created_at=now,
        reason=reason,
    )
    try:
        result = await state.store.add(new, idempotency_window=state.settings.idempotency_window)
    except StoreUnavailable:
        metrics.INGEST.labels("unavailable").inc()
        raise Problem(503, "Storage is unavailable; retry later.", headers={"Retry-After": "5"}) from None
    _count_ignored(ignored)
    if result.duplicate:
        return 200, await _repeat(state, result.message_id, new, ignored)
    _QUEUED.inc()
    state.dispatcher.wake()
    status_changed(new.id, Status.QUEUED, channel=message.channel)
    if ignored:
        log_event(
            "ingest.ignored_fields", level=logging.DEBUG, message_id=new.id, fields=[field.field for field in ignored]
        )
    return 202, IngestAnswer(new.id, Status.QUEUED.value, False, ignored)


async def _repeat(state: State, first_id: str, new: NewMessage, ignored: list[IgnoredField]) -> IngestAnswer:
    """The answer to a repeat: 409 for an explicit key naming another message, else the first message's id."""
    first = await state.store.get(first_id)
    changed = [] if first is None or is_erased(first.record) else changed_fields(first.record.message, new.message)
    if changed and is_explicit(new.idempotency_key):
        raise Problem(
            409,
            f"This idempotency key was already used for message {first_id}, with a different {', '.join(changed)}: "
            "use a new key for a new message.",
            message_id=first_id,
        )
    if changed:
        kind = new.idempotency_key.split(":", 1)[0]
        metrics.CHANGED_REPEATS.labels(kind).inc()
        log_event("ingest.repeat_changed", level=logging.WARNING, message_id=first_id, fields=changed, key_kind=kind)
        note = (
            f"a repeat with the same {'Braze ids' if kind == 'braze' else 'content'} arrived with a different "
            f"{', '.join(changed)}: answered as a duplicate of this message, the repeat was not sent"
        )
        await state.store.note(first_id, note, now=state.clock())
    metrics.INGEST.labels("duplicate").inc()
    status = first.record.status.value if first else Status.QUEUED.value
    return IngestAnswer(first_id, status, True, ignored)


async def _keep_refusal(state: State, intake: _Intake, refused: Problem) -> None:
    """Record a refusal for support; if the store cannot take it, the sender still gets its answer."""
    metrics.INGEST.labels(_OUTCOMES[refused.status]).inc()
    metrics.REFUSED.labels(str(refused.status)).inc()
    refusal = refusal_of(
        new_message_id(),
        at=state.clock(),
        http_status=refused.status,
        detail=refused.detail or refused.title,
        errors=refused.errors,
        content_type=intake.content_type,
        body=intake.body,
        raw=intake.raw,
        message_id=refused.message_id,
    )
    fields = [error.field for error in refusal.errors]
    log_event("ingest.refused", level=logging.WARNING, refusal_id=refusal.id, http_status=refused.status, fields=fields)
    try:
        await state.store.add_refusal(refusal)
    except StoreUnavailable:
        _log.warning("refusal not kept: the store is unavailable", extra={"refusal_id": refusal.id})
    except Exception:
        # Keeping the record must never turn the sender's 4xx into a 5xx, which Braze would retry.
        _log.exception("refusal not kept", extra={"refusal_id": refusal.id})


def _preview(
    body: dict[str, Any], message: OutboundMessage, vendor: str, state: State, ignored: list[IgnoredField]
) -> PreviewAnswer:
    settings = state.settings
    return preview(
        body,
        message,
        vendor=vendor,
        adapters=state.runtime.adapters,
        policy=state.policy,
        lms_vendor=settings.lms_vendor,
        emulated=product_of(vendor, message.channel) in settings.emulated,
        quiet_mode=settings.quiet_hours,
        now=state.clock(),
        ignored=ignored,
    )


def _count_ignored(ignored: list[IgnoredField]) -> None:
    for field in ignored:
        metrics.IGNORED_FIELDS.labels("similar" if field.similarTo else "unknown").inc()


def _parse_body(content_type: str, raw: bytes) -> dict[str, Any]:
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "application/json" or media_type.endswith("+json"):
        try:
            return decode_object(raw)
        except BodyError as exc:
            raise Problem(400, str(exc)) from None
    if raw.lstrip()[:1] in (b"{", b"["):
        # curl -d sends form data by default: a JSON body read as a form would be one nameless field.
        shown = media_type or "no Content-Type"
        raise Problem(415, f"The body looks like JSON but was sent as {shown}: {_AS_JSON}.")
    if media_type == _FORM:
        try:
            # A %-escape that is not UTF-8 (%FF) becomes U+FFFD, which normalisation removes like other noise.
            pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
        except UnicodeDecodeError:
            raise Problem(400, "The form body is not valid UTF-8.") from None
        form: dict[str, Any] = {}
        for key, value in pairs:
            if key in form:
                raise Problem(400, f'The key "{key[:40]}" is given twice; give each key once.')
            form[key] = value
        return form
    shown = media_type or "none"
    raise Problem(415, f"Content-Type {shown!r} is not accepted: {_AS_JSON} or {_FORM}.")


def _summary(count: int) -> str:
    return "1 field is invalid." if count == 1 else f"{count} fields are invalid."
