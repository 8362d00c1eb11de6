"""Refused ingests in the support API (issue 11): ``GET /v1/admin/refusals`` and one refusal's detail.

Refusals are not messages (nothing was stored or sent), so they have their own search with the message
search's filters but ``status`` and ``vendor``; ``GET /v1/admin/messages?status=refused`` answers 400 pointing
here. Phone numbers and emails are masked, in the body too, for every role.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, tzinfo
from typing import Annotated

import msgspec
from litestar import get
from litestar.params import FromPath, FromQuery, QueryParameter

from gateway.api.auth import require_staff
from gateway.api.deps import StoreDep
from gateway.api.filters import FILTER_PARAMS, SearchRequest, parse_search, search_errors
from gateway.api.masking import mask_email, mask_phone
from gateway.api.problems import BEARER, Problem, problem_responses
from gateway.api.views import iso
from gateway.normalise.errors import FieldError
from gateway.refusals import Refusal

__all__ = (
    "REFUSAL_FILTERS",
    "REFUSAL_HANDLERS",
    "RefusalDetailView",
    "RefusalSearchAnswer",
    "RefusalView",
    "get_refusal",
    "parse_refusal_search",
    "refusal_detail_view",
    "refusal_view",
    "search_refusals",
)

#: The message filters a refusal can be searched by.
REFUSAL_FILTERS = tuple(name for name in FILTER_PARAMS if name not in ("status", "vendor"))
_Query = FromQuery[str | None]


class RefusalView(msgspec.Struct, kw_only=True):
    """One refused ingest: when, what Braze was answered and which fields were wrong."""

    refusalId: str
    at: str
    httpStatus: int
    detail: str
    errors: list[FieldError]
    userId: str | None
    channel: str | None
    phone: str | None
    email: str | None
    campaignId: str | None
    campaignName: str | None
    dispatchId: str | None
    canvasId: str | None
    canvasStepId: str | None
    sendId: str | None
    #: A 409: the message the reused idempotency key belongs to.
    messageId: str | None


class RefusalDetailView(RefusalView, kw_only=True):
    """A refusal with the body as received (phone numbers and emails masked)."""

    contentType: str
    body: str


class RefusalSearchAnswer(msgspec.Struct, kw_only=True):
    """One page of refusals, newest first; pass ``nextCursor`` as ``cursor`` for the next page."""

    items: list[RefusalView]
    nextCursor: str | None


def refusal_view(refusal: Refusal) -> RefusalView:
    """The summary of a refusal, contact details masked."""
    braze = refusal.braze
    return RefusalView(
        refusalId=refusal.id,
        at=iso(refusal.at) or "",
        httpStatus=refusal.http_status,
        detail=refusal.detail,
        errors=list(refusal.errors),
        userId=refusal.user_id,
        channel=refusal.channel,
        phone=mask_phone(refusal.phone),
        email=mask_email(refusal.email),
        campaignId=braze.campaign_id,
        campaignName=braze.campaign_name,
        dispatchId=braze.dispatch_id,
        canvasId=braze.canvas_id,
        canvasStepId=braze.canvas_step_id,
        sendId=braze.send_id,
        messageId=refusal.message_id,
    )


def refusal_detail_view(refusal: Refusal) -> RefusalDetailView:
    """A refusal with its masked body."""
    summary = msgspec.structs.asdict(refusal_view(refusal))
    return RefusalDetailView(**summary, contentType=refusal.content_type, body=refusal.body)


def parse_refusal_search(params: Mapping[str, str | None], *, naive_tz: tzinfo = UTC) -> SearchRequest:
    """:func:`parse_search` without ``status`` and ``vendor``, which refusals do not have.

    Raises:
        InvalidFilter: Naming every parameter that is wrong.
    """
    return parse_search({**params, "status": None, "vendor": None}, naive_tz=naive_tz)


@get(
    "/v1/admin/refusals",
    guards=[require_staff],
    operation_id="searchRefusals",
    security=BEARER,
    responses=problem_responses(400, 401),
    summary="Search refused ingests, newest first",
    description="What Braze sent that the gateway answered with a 4xx (401 aside), kept for the retention period: "
    "the answer's status and field errors, the user id and Braze ids. Filters as for messages, without `status` "
    "and `vendor`; phone numbers and emails are masked.",
    tags=["admin"],
)
async def search_refusals(
    store: StoreDep,
    channel: _Query = None,
    campaign_id: Annotated[str | None, QueryParameter(name="campaignId")] = None,
    dispatch_id: Annotated[str | None, QueryParameter(name="dispatchId")] = None,
    user_id: Annotated[str | None, QueryParameter(name="userId")] = None,
    phone: _Query = None,
    email: _Query = None,
    created_from: Annotated[str | None, QueryParameter(name="from")] = None,
    created_to: Annotated[str | None, QueryParameter(name="to")] = None,
    limit: Annotated[str | None, QueryParameter(description="1 to 200, default 50")] = None,
    cursor: _Query = None,
) -> RefusalSearchAnswer:
    """One page of matching refusals."""
    values = (channel, campaign_id, dispatch_id, user_id, phone, email, created_from, created_to)
    params = dict(zip(REFUSAL_FILTERS, values, strict=True)) | {"limit": limit, "cursor": cursor}
    try:
        search = parse_refusal_search(params)
        page = await store.search_refusals(search.criteria, limit=search.limit, cursor=search.cursor)
    except ValueError as exc:
        raise Problem(400, "Invalid filter: see errors.", errors=search_errors(exc)) from None
    return RefusalSearchAnswer(items=[refusal_view(r) for r in page.items], nextCursor=page.next_cursor)


@get(
    "/v1/admin/refusals/{refusal_id:str}",
    guards=[require_staff],
    operation_id="getRefusal",
    security=BEARER,
    responses=problem_responses(401, 404),
    summary="One refused ingest with its field errors and the body as received, personal data masked",
    tags=["admin"],
)
async def get_refusal(refusal_id: FromPath[str], store: StoreDep) -> RefusalDetailView:
    """Everything kept of one refusal."""
    refusal = await store.get_refusal(refusal_id)
    if refusal is None:
        raise Problem(404, "No refusal has this id.")
    return refusal_detail_view(refusal)


REFUSAL_HANDLERS = (search_refusals, get_refusal)
