"""``POST /v1/braze/messages``: the Braze webhook endpoint (SPEC §3)."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qsl

import msgspec
from litestar import Request, Response, post
from litestar.datastructures import State
from litestar.openapi.datastructures import ResponseSpec

from gateway.api.auth import require_ingest_token
from gateway.api.ingest_doc import IngestOperation
from gateway.api.preview import PreviewAnswer, preview, read_dry_run
from gateway.api.problems import BEARER, Problem, problem_responses
from gateway.metrics import INGEST
from gateway.models import NewMessage, OutboundMessage, Status, new_message_id
from gateway.normalise.errors import FieldError, InvalidMessage
from gateway.normalise.inbound import idempotency_key, normalise_body
from gateway.normalise.json_body import BodyError, decode_object
from gateway.normalise.limits import FIELD_LIMITS
from gateway.settings import product_of
from gateway.store.base import StoreUnavailable

__all__ = ("IngestAnswer", "receive_braze_message")

_log = logging.getLogger(__name__)
_FORM = "application/x-www-form-urlencoded"


class IngestAnswer(msgspec.Struct):
    """What Braze gets back: the message id, its status and whether it was a repeat."""

    messageId: str
    status: str
    duplicate: bool


@post(
    "/v1/braze/messages",
    operation_id="receiveBrazeMessage",
    summary="Receive one rendered Braze webhook body",
    description="Authenticates, validates and normalises the body, stores it durably and answers 202. A dry run "
    "(`dryRun: true`, or the header `Dry-Run: true`) answers 200 with a preview and stores nothing.",
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
        **problem_responses(400, 401, 413, 415, 422, 429, 503),
    },
)
async def receive_braze_message(request: Request[Any, Any, State]) -> Response[IngestAnswer | PreviewAnswer]:
    """Store a Braze message durably; a repeat within the idempotency window answers 200 with the first id.

    A dry run (``dryRun`` in the body or the ``Dry-Run`` header) is answered 200 with its preview instead, and
    nothing is stored or sent.
    """
    # Authenticated here rather than by a route guard: Litestar copies the handler for every guard call, and on
    # the hottest route that copy costs more than the check.
    await require_ingest_token(request, None)
    state = request.app.state
    raw = await request.body()
    body = _parse_body(request.headers.get("content-type", ""), raw)
    dry_run, dry_run_errors = read_dry_run(request.headers.get("dry-run"), body)
    # A dry run stores nothing, so a full queue does not stop it.
    if state.monitor.overloaded and not dry_run and not dry_run_errors:
        INGEST.labels("overloaded").inc()
        raise Problem(429, "The gateway's queue is full; retry later.", headers={"Retry-After": "30"})
    try:
        message = normalise_body(body, state.policy)
    except InvalidMessage as exc:
        INGEST.labels("invalid").inc()
        errors = [*dry_run_errors, *exc.errors]
        raise Problem(422, _summary(len(errors)), errors=errors) from None
    errors = list(dry_run_errors)
    header_key = request.headers.get("idempotency-key")
    if header_key is not None and len(header_key) > FIELD_LIMITS["idempotencyKey"]:
        limit = FIELD_LIMITS["idempotencyKey"]
        errors.append(FieldError("Idempotency-Key", f"at most {limit:,} characters are allowed"))
    vendor = message.vendor or state.settings.vendor_for(message.channel)
    if (vendor, message.channel) not in state.runtime.adapters:
        errors.append(FieldError("vendor", f"{vendor} is not configured for {message.channel} on this gateway."))
    if errors:
        INGEST.labels("invalid").inc()
        raise Problem(422, _summary(len(errors)), errors=errors)
    if dry_run:
        INGEST.labels("preview").inc()
        return Response(_preview(body, message, vendor, state), status_code=200)
    now = state.clock()
    new = NewMessage(
        id=new_message_id(),
        idempotency_key=idempotency_key(header_key, body, message),
        vendor=vendor,
        message=message,
        raw_body=raw,
        status=Status.QUEUED,
        next_attempt_at=now,
        created_at=now,
    )
    try:
        result = await state.store.add(new, idempotency_window=state.settings.idempotency_window)
    except StoreUnavailable:
        INGEST.labels("unavailable").inc()
        raise Problem(503, "Storage is unavailable; retry later.", headers={"Retry-After": "5"}) from None
    if result.duplicate:
        INGEST.labels("duplicate").inc()
        first = await state.store.get(result.message_id)
        status = first.record.status.value if first else Status.QUEUED.value
        return Response(IngestAnswer(result.message_id, status, True), status_code=200)
    INGEST.labels("queued").inc()
    state.dispatcher.wake()
    _log.debug("message queued", extra={"message_id": new.id, "channel": message.channel})
    return Response(IngestAnswer(new.id, Status.QUEUED.value, False), status_code=202)


def _preview(body: dict[str, Any], message: OutboundMessage, vendor: str, state: State) -> PreviewAnswer:
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
    )


def _parse_body(content_type: str, raw: bytes) -> dict[str, Any]:
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "application/json" or media_type.endswith("+json"):
        try:
            return decode_object(raw)
        except BodyError as exc:
            raise Problem(400, str(exc)) from None
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
    raise Problem(415, f"Content-Type {shown!r} is not accepted: send application/json or {_FORM}.")


def _summary(count: int) -> str:
    return "1 field is invalid." if count == 1 else f"{count} fields are invalid."
