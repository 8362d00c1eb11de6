"""The support API: staff-token authenticated, personal data masked unless an operator reveals it.

Search and stats are open to every staff member; replay, reveal, the audit log and erasure need the operator
role, and each reveal, replay and erasure is audited.

See docs/ARCHITECTURE.md, "Support API and console".
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Response, Router, delete, get, post
from litestar.datastructures import MutableScopeHeaders, State
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from gateway.api import support
from gateway.api.auth import require_operator, require_staff
from gateway.api.deps import ClockDep, DispatcherDep, StoreDep
from gateway.api.filters import FILTER_PARAMS, InvalidFilter, parse_search, parse_window, search_errors
from gateway.api.problems import BEARER, Problem, problem_responses
from gateway.api.refusals import REFUSAL_HANDLERS
from gateway.api.views import (
    AuditAnswer,
    BulkReplayAnswer,
    ErasureAnswer,
    MessageDetailView,
    ReplayAnswer,
    SearchAnswer,
    StatsView,
    audit_answer,
    detail_view,
    message_view,
    stats_view,
)
from gateway.normalise.errors import FieldError
from gateway.settings import StaffToken

__all__ = (
    "ADMIN_HANDLERS",
    "STATS_WINDOW",
    "bulk_replay",
    "erase_personal_data",
    "get_audit_log",
    "get_message",
    "get_stats",
    "no_store",
    "replay_message",
    "search_messages",
    "staff_of",
)

#: The stats window when none is given: the last day.
STATS_WINDOW = 24 * 3600.0
_FAILURES_SHOWN = 20
_OBJECT = msgspec.json.Decoder(dict[str, Any])
_Query = FromQuery[str | None]
_BULK_DEFAULT = ", ".join(f"`{status.value}`" for status in sorted(support.BULK_DEFAULT_STATUSES))


def staff_of(request: Request[Any, Any, Any]) -> StaffToken:
    """The staff member the guard authenticated."""
    member: StaffToken = request.scope["staff"]  # type: ignore[typeddict-item]
    return member


def _invalid(exc: InvalidFilter) -> Problem:
    """A 400 problem naming each bad parameter."""
    return Problem(400, "Invalid filter: see errors.", errors=exc.errors)


@get(
    "/v1/admin/messages",
    guards=[require_staff],
    operation_id="searchMessages",
    security=BEARER,
    responses=problem_responses(400, 401),
    summary="Search messages, newest first",
    description="Every filter is optional; times are ISO 8601 (UTC when no offset is given), `from` inclusive and "
    "`to` exclusive. Phone numbers and emails are matched in any common form. Pass `nextCursor` as `cursor`.",
    tags=["admin"],
)
async def search_messages(
    store: StoreDep,
    status: _Query = None,
    channel: _Query = None,
    vendor: _Query = None,
    campaign_id: Annotated[str | None, QueryParameter(name="campaignId")] = None,
    dispatch_id: Annotated[str | None, QueryParameter(name="dispatchId")] = None,
    user_id: Annotated[str | None, QueryParameter(name="userId")] = None,
    phone: _Query = None,
    email: _Query = None,
    created_from: Annotated[str | None, QueryParameter(name="from")] = None,
    created_to: Annotated[str | None, QueryParameter(name="to")] = None,
    limit: Annotated[str | None, QueryParameter(description="1 to 200, default 50")] = None,
    cursor: _Query = None,
) -> SearchAnswer:
    """One page of matching messages, phone numbers and emails masked."""
    values = (status, channel, vendor, campaign_id, dispatch_id, user_id, phone, email, created_from, created_to)
    params = dict(zip(FILTER_PARAMS, values, strict=True)) | {"limit": limit, "cursor": cursor}
    try:
        search = parse_search(params)
        page = await store.search(search.criteria, limit=search.limit, cursor=search.cursor)
    except ValueError as exc:
        raise Problem(400, "Invalid filter: see errors.", errors=search_errors(exc)) from None
    return SearchAnswer(items=[message_view(m) for m in page.items], nextCursor=page.next_cursor)


@get(
    "/v1/admin/messages/{message_id:str}",
    guards=[require_staff],
    operation_id="getMessage",
    security=BEARER,
    responses=problem_responses(400, 401, 403, 404),
    summary="One message with its normalised form, vendor request, attempts and timeline",
    description="`reveal=true` (operators only, audited) shows the phone number and email unmasked.",
    tags=["admin"],
)
async def get_message(
    message_id: FromPath[str],
    request: Request[Any, Any, State],
    store: StoreDep,
    clock: ClockDep,
    reveal: FromQuery[bool] = False,
) -> MessageDetailView:
    """Everything known about one message, phone number and email masked unless revealed."""
    if not reveal:
        detail = await store.get(message_id)
        if detail is None:
            raise Problem(404, "No message has this id.")
        return detail_view(detail)
    staff = staff_of(request)
    if staff.role != "operator":
        raise Problem(403, "Revealing contact details needs the operator role.")
    detail = await support.reveal_message(store, staff, message_id, now=clock())
    return detail_view(detail, reveal=True)


@post(
    "/v1/admin/messages/{message_id:str}/replay",
    guards=[require_operator],
    operation_id="replayMessage",
    security=BEARER,
    responses=problem_responses(401, 403, 404, 409),
    summary="Send a finished message again",
    description="The message goes back to `queued` with a fresh retry budget. A `fallback` message is replayed as "
    "its LMS (what reached the user), whose id the answer gives. 409 when it is not finished or its personal data "
    "was erased (nothing is left to send).",
    status_code=202,
    tags=["admin"],
)
async def replay_message(
    message_id: FromPath[str],
    request: Request[Any, Any, State],
    store: StoreDep,
    dispatcher: DispatcherDep,
    clock: ClockDep,
) -> ReplayAnswer:
    """Queue a finished message again; audited."""
    replayed = await support.replay_message(store, staff_of(request), message_id, now=clock())
    dispatcher.wake()
    return ReplayAnswer(messageId=replayed, status="queued")


@post(
    "/v1/admin/replay",
    guards=[require_operator],
    operation_id="bulkReplay",
    status_code=202,
    security=BEARER,
    responses={
        200: ResponseSpec(BulkReplayAnswer, description="`dryRun: true`: only counted", generate_examples=False),
        **problem_responses(400, 401, 403),
    },
    summary="Replay the finished messages that match a filter",
    description="Body: the search filters (`status`, `channel`, `vendor`, `campaignId`, `dispatchId`, `userId`, "
    "`phone`, `email`, `from`, `to`) and `dryRun`. At least one filter is required. Without `status` only the "
    f"finished messages that did not reach the user ({_BULK_DEFAULT}) are replayed: `delivered` and `fallback` "
    "only when `status` names them (a `fallback` message is replayed as its LMS). Messages whose personal data "
    "was erased are skipped. At most "
    f"{support.REPLAY_LIMIT} messages, newest first, per request: `more` says when others are left. "
    "`dryRun: true` only counts.",
    tags=["admin"],
)
async def bulk_replay(
    request: Request[Any, Any, State],
    store: StoreDep,
    dispatcher: DispatcherDep,
    clock: ClockDep,
) -> Response[BulkReplayAnswer]:
    """Replay by filter, or count with ``dryRun``; audited."""
    params, dry_run = _bulk_body(await request.body())
    try:
        criteria = parse_search(params).criteria
    except InvalidFilter as exc:
        raise _invalid(exc) from None
    result = await support.bulk_replay(store, staff_of(request), criteria, dry_run=dry_run, now=clock())
    if result.count and not dry_run:
        dispatcher.wake()
    answer = BulkReplayAnswer(dryRun=result.dry_run, count=result.count, limit=result.limit, more=result.more)
    return Response(answer, status_code=200 if dry_run else 202)


@get(
    "/v1/admin/stats",
    guards=[require_staff],
    operation_id="getStats",
    security=BEARER,
    responses=problem_responses(400, 401),
    summary="Counts by state, channel and vendor over a window, refused ingests, and failed attempts by vendor code",
    description="`from` and `to` are ISO 8601 (UTC when no offset is given); the default window is the last 24 h.",
    tags=["admin"],
)
async def get_stats(
    store: StoreDep,
    clock: ClockDep,
    created_from: Annotated[str | None, QueryParameter(name="from")] = None,
    created_to: Annotated[str | None, QueryParameter(name="to")] = None,
) -> StatsView:
    """Message counts of the window and its failures by vendor code."""
    try:
        start, end = parse_window({"from": created_from, "to": created_to}, now=clock(), default=STATS_WINDOW)
    except InvalidFilter as exc:
        raise _invalid(exc) from None
    counts = await store.window_counts(created_from=start, created_to=end)
    failures = await store.failures_by_code(since=start, until=end, limit=_FAILURES_SHOWN)
    refused = await store.count_refusals(created_from=start, created_to=end)
    return stats_view(counts, failures, start, end, refused=refused)


@get(
    "/v1/admin/audit",
    guards=[require_operator],
    operation_id="getAuditLog",
    security=BEARER,
    responses=problem_responses(400, 401, 403),
    summary="Reveals, replays and erasures: who, what, when (newest first)",
    tags=["admin"],
)
async def get_audit_log(
    store: StoreDep, limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50, cursor: _Query = None
) -> AuditAnswer:
    """One page of the audit log."""
    try:
        page = await store.audit_log(limit=limit, cursor=cursor)
    except ValueError:
        raise Problem(
            400, "Invalid cursor.", errors=[FieldError("cursor", "is not a cursor of the audit log")]
        ) from None
    return audit_answer(page)


@delete(
    "/v1/admin/users/{user_id:str}/personal-data",
    guards=[require_operator],
    operation_id="erasePersonalData",
    security=BEARER,
    responses=problem_responses(401, 403),
    summary="Erase a user's phone numbers, emails and content, keeping delivery statistics",
    status_code=200,
    tags=["admin"],
)
async def erase_personal_data(
    user_id: FromPath[str],
    request: Request[Any, Any, State],
    store: StoreDep,
    clock: ClockDep,
) -> ErasureAnswer:
    """Erase every message of ``user_id``; audited."""
    erased = await support.erase_user(store, staff_of(request), user_id, now=clock())
    return ErasureAnswer(userId=user_id, erased=erased)


def _bulk_body(raw: bytes) -> tuple[dict[str, str | None], bool]:
    """The filters and ``dryRun`` of a bulk replay body; an unknown key is an error, not a wider replay."""
    try:
        body = _OBJECT.decode(raw or b"{}")
    except (msgspec.DecodeError, msgspec.ValidationError):
        raise Problem(400, "The body must be a JSON object of filters and dryRun.") from None
    errors = [FieldError(key, "is not a filter") for key in body if key not in FILTER_PARAMS and key != "dryRun"]
    dry_run = body.get("dryRun", False)
    if not isinstance(dry_run, bool):
        errors.append(FieldError("dryRun", "must be true or false"))
    errors += [FieldError(k, "must be a string") for k in FILTER_PARAMS if not isinstance(body.get(k, ""), str | None)]
    if errors:
        raise Problem(400, "Invalid bulk replay: see errors.", errors=errors)
    return {key: body.get(key) for key in FILTER_PARAMS}, dry_run is True


def no_store(app: ASGIApp) -> ASGIApp:
    """Middleware marking every answer ``Cache-Control: no-store``, problem answers included.

    A middleware rather than the handlers' ``cache_control``: that one is not applied to the answers of the
    exception handlers (401, 404, 409 ...).
    """

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        async def send_no_store(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableScopeHeaders.from_message(message)["Cache-Control"] = "no-store"
            await send(message)

        await app(scope, receive, send_no_store)

    return middleware


#: Every support route, under one router so that none of its answers can be cached: they carry personal data
#: (unmasked after a reveal), which a shared or browser cache would keep past the staff member's access.
ADMIN_HANDLERS = (
    Router(
        "/",
        route_handlers=[
            search_messages,
            get_message,
            replay_message,
            bulk_replay,
            get_stats,
            get_audit_log,
            erase_personal_data,
            *REFUSAL_HANDLERS,
        ],
        middleware=[no_store],
    ),
)
