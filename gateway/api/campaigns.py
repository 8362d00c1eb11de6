"""The campaign report API (issue 12): what reached whom at what cost, per Braze campaign or dispatch.

Staff-token authenticated like the rest of the support API; the report holds counts only, no personal data, but
answers are still never cached (campaign figures are not for shared caches).
"""

from __future__ import annotations

from typing import Annotated

from litestar import Response, Router, get
from litestar.datastructures import State
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, QueryParameter

from gateway.api.admin import no_store
from gateway.api.auth import require_staff
from gateway.api.campaign_views import (
    BY_PARAMS,
    CampaignList,
    CampaignReport,
    campaign_list,
    campaign_report,
    report_csv,
)
from gateway.api.filters import InvalidFilter, parse_window
from gateway.api.problems import BEARER, Problem, problem_responses
from gateway.normalise.errors import FieldError

__all__ = ("CAMPAIGN_HANDLERS", "RECENT_WINDOW", "csv_response", "find_report")

#: The window of the campaign list when none is given: the last week.
RECENT_WINDOW = 7 * 24 * 3600.0
_By = Annotated[
    str,
    QueryParameter(
        description="`campaignId` (default): every message of the Braze campaign; `dispatchId`: one send of it",
    ),
]


async def find_report(state: State, campaign_id: str, by: str) -> CampaignReport:
    """The report of ``campaign_id`` (a campaign or dispatch id, as ``by`` says).

    Raises:
        Problem: 400 for an unknown ``by``, 404 when no message has the id.
    """
    key = BY_PARAMS.get(by)
    if key is None:
        errors = [FieldError("by", f'"{by[:20]}" is not allowed; use campaignId or dispatchId')]
        raise Problem(400, "Invalid parameter: see errors.", errors=errors)
    data = await state.store.campaign_data(key, campaign_id)
    if not data.messages:
        raise Problem(404, f"No message has this {by}.")
    return campaign_report(by, campaign_id, data, state.settings.prices)


@get(
    "/v1/admin/campaigns",
    guards=[require_staff],
    operation_id="listCampaigns",
    security=BEARER,
    responses=problem_responses(400, 401),
    summary="Campaigns with messages in a window, latest first",
    description="`from` and `to` are ISO 8601 (UTC when no offset is given); the default window is the last 7 days. "
    "Fallback LMS are not counted (they belong to their kakao message).",
    tags=["campaigns"],
)
async def list_campaigns(
    state: State,
    created_from: Annotated[str | None, QueryParameter(name="from")] = None,
    created_to: Annotated[str | None, QueryParameter(name="to")] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
) -> CampaignList:
    """Recent campaigns with their message and delivery counts."""
    try:
        start, end = parse_window({"from": created_from, "to": created_to}, now=state.clock(), default=RECENT_WINDOW)
    except InvalidFilter as exc:
        raise Problem(400, "Invalid filter: see errors.", errors=exc.errors) from None
    summaries = await state.store.recent_campaigns(since=start, until=end, limit=limit)
    return campaign_list(summaries, start, end)


@get(
    "/v1/admin/campaigns/{campaign_id:str}",
    guards=[require_staff],
    operation_id="getCampaignReport",
    security=BEARER,
    responses=problem_responses(400, 401, 404),
    summary="One campaign's (or dispatch's) funnel, failures, time to delivery and cost estimate",
    description="By channel: received → accepted → delivered / fell back to LMS / failed / held / suppressed / "
    "unknown, delivery rate, p50/p95 seconds to delivery, and the cost from `GATEWAY_PRICES`; failures by normalised "
    "reason and vendor code. `by=dispatchId` reports one dispatch (send) instead of the whole campaign.",
    tags=["campaigns"],
)
async def get_campaign_report(state: State, campaign_id: FromPath[str], by: _By = "campaignId") -> CampaignReport:
    """The report as JSON."""
    return await find_report(state, campaign_id, by)


@get(
    "/v1/admin/campaigns/{campaign_id:str}/report.csv",
    guards=[require_staff],
    operation_id="getCampaignReportCsv",
    security=BEARER,
    responses={
        200: ResponseSpec(str, description="The report as CSV", media_type="text/csv", generate_examples=False),
        **problem_responses(400, 401, 404),
    },
    summary="The campaign report as CSV (channel table, then failure table)",
    tags=["campaigns"],
    media_type="text/csv",
)
async def get_campaign_report_csv(state: State, campaign_id: FromPath[str], by: _By = "campaignId") -> Response[str]:
    """The report as a CSV download."""
    report = await find_report(state, campaign_id, by)
    return csv_response(report)


def csv_response(report: CampaignReport) -> Response[str]:
    """``report`` as a CSV attachment named after its id."""
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in report.id)[:80]
    return Response(
        report_csv(report),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="campaign-{safe}.csv"'},
    )


#: The campaign routes, never cached (like every support route).
CAMPAIGN_HANDLERS = (
    Router(
        "/",
        route_handlers=[list_campaigns, get_campaign_report, get_campaign_report_csv],
        middleware=[no_store],
    ),
)
