"""The console's campaign pages (issue 12): recent campaigns, one campaign's report with charts, its CSV.

The pages show the JSON API's report (:func:`gateway.api.campaigns.find_report`) as tables and server-rendered SVG
charts; they share the console's session, headers and error pages.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from litestar import Controller, Request, Response, get
from litestar.datastructures import State
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template

from gateway.api.admin import staff_of
from gateway.api.campaign_views import campaign_list
from gateway.api.campaigns import RECENT_WINDOW, csv_response, find_report
from gateway.console.charts import OUTCOMES, failures_chart, funnel_chart, latency_chart, row_label
from gateway.console.pages import query_url
from gateway.console.routes import ConsoleController
from gateway.console.session import require_console_staff

__all__ = ("CampaignController", "percent")

_STAFF = [require_console_staff]
_LISTED = 50
_By = Annotated[str, QueryParameter(name="by")]


def percent(rate: float | None) -> str:
    """``0.8571`` as ``85.7%`` ("—" for none)."""
    return "—" if rate is None else f"{rate * 100:.1f}%"


class CampaignController(Controller):
    """``/admin/campaigns``; its session and CSRF middleware are added by :func:`gateway.console.console_handlers`."""

    path = "/admin/campaigns"
    include_in_schema = False
    cache_control = ConsoleController.cache_control
    response_headers = ConsoleController.response_headers
    exception_handlers = ConsoleController.exception_handlers

    @get("/", guards=_STAFF)
    async def recent(
        self,
        request: Request[Any, Any, State],
        state: State,
        open_id: Annotated[str | None, QueryParameter(name="id")] = None,
        by: _By = "campaignId",
    ) -> Template | Redirect:
        """Campaigns of the last week, latest first, and a form to open one by campaign or dispatch id."""
        if open_id and open_id.strip():
            target = query_url(f"/admin/campaigns/{quote(open_id.strip(), safe='')}", {"by": by})
            return Redirect(target, status_code=303)
        end = state.clock()
        summaries = await state.store.recent_campaigns(since=end - RECENT_WINDOW, until=end, limit=_LISTED)
        listed = campaign_list(summaries, end - RECENT_WINDOW, end)
        context = {"staff": staff_of(request), "campaigns": listed.items, "percent": percent}
        return Template(template_name="campaigns.html", context=context)

    @get("/{campaign_id:str}", guards=_STAFF)
    async def report(
        self, request: Request[Any, Any, State], state: State, campaign_id: FromPath[str], by: _By = "campaignId"
    ) -> Template:
        """One campaign's (or dispatch's) report: summary, funnel, time to delivery, failures, cost."""
        report = await find_report(state, campaign_id, by)
        context = {
            "staff": staff_of(request),
            "report": report,
            "funnel": funnel_chart(report.channels),
            "latency": latency_chart(report.channels),
            "failures": failures_chart(report.failures),
            "outcomes": OUTCOMES,
            "row_label": row_label,
            "csv_url": query_url(f"/admin/campaigns/{quote(campaign_id, safe='')}/report.csv", {"by": by}),
            "search_url": query_url("/admin/messages", {by: campaign_id}),
            "percent": percent,
        }
        return Template(template_name="campaign.html", context=context)

    @get("/{campaign_id:str}/report.csv", guards=_STAFF)
    async def report_csv(self, state: State, campaign_id: FromPath[str], by: _By = "campaignId") -> Response[str]:
        """The report as a CSV download."""
        return csv_response(await find_report(state, campaign_id, by))
