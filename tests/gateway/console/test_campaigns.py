"""The console's campaign pages over HTTP: recent campaigns on the dashboard, a report with charts, its CSV."""

from __future__ import annotations

import re

from litestar import Litestar

from gateway.console.campaigns import percent
from tests.conftest import SEED_BODY
from tests.gateway.api.messages import Client, post_message, send_dead, send_delivered
from tests.gateway.console.helpers import sign_in


async def test_the_dashboard_links_to_recent_campaigns(client: Client, app: Litestar) -> None:
    await send_delivered(app, client, campaignId="c-dash", campaignName="추석 기획전")
    app.state.clock.advance(60)
    await sign_in(client)

    page = (await client.get("/admin")).text

    assert '<a href="/admin/campaigns/c-dash">추석 기획전</a>' in page
    assert '<a href="/admin/campaigns">캠페인 Campaigns</a>' in page


async def test_a_campaign_page_shows_tables_and_svg_charts(client: Client, app: Litestar) -> None:
    await send_delivered(app, client, campaignId="c-page", campaignName="추석 기획전", userId="a")
    await send_dead(app, client, campaignId="c-page", campaignName="추석 기획전", userId="b")
    await sign_in(client)

    response = await client.get("/admin/campaigns/c-page")

    assert response.status_code == 200
    page = response.text
    assert "추석 기획전" in page
    assert page.count('<svg class="chart" role="img"') == 3
    assert "<script" not in page
    funnel = re.search(r'<table class="funnel">.*?</table>', page, re.DOTALL)
    assert funnel is not None
    assert re.search(r"<th>kakao</th><td class=\"num\">2</td><td class=\"num\">1</td>", funnel.group())
    assert "refused by the vendor" in page
    assert "<code>-3006</code>" in page
    assert 'href="/admin/campaigns/c-page/report.csv?by=campaignId"' in page
    assert 'href="/admin/messages?campaignId=c-page"' in page
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-frame-options"] == "DENY"


async def test_the_console_csv_and_the_open_form(client: Client, app: Litestar) -> None:
    await post_message(client, SEED_BODY, dispatchId="d-open")
    await sign_in(client)

    opened = await client.get("/admin/campaigns", params={"id": " d-open ", "by": "dispatchId"}, follow_redirects=False)
    csv = await client.get("/admin/campaigns/d-open/report.csv", params={"by": "dispatchId"})

    assert opened.status_code == 303
    assert opened.headers["location"] == "/admin/campaigns/d-open?by=dispatchId"
    assert csv.status_code == 200
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.content.decode("utf-8-sig").startswith("dispatchId,d-open,")


async def test_unknown_campaign_and_bad_by_are_error_pages(client: Client) -> None:
    await sign_in(client)

    unknown = await client.get("/admin/campaigns/nope")
    bad = await client.get("/admin/campaigns/nope", params={"by": "phone"})
    empty = await client.get("/admin/campaigns")

    assert unknown.status_code == 404
    assert "No message has this campaignId" in unknown.text
    assert bad.status_code == 400
    assert "<html" in bad.text
    assert "No campaign in the last 7 days" in empty.text


async def test_campaign_pages_need_a_session(client: Client) -> None:
    page = await client.get("/admin/campaigns/c1a2b3", follow_redirects=False)
    csv = await client.get("/admin/campaigns/c1a2b3/report.csv", follow_redirects=False)

    assert page.status_code == csv.status_code == 303
    assert page.headers["location"].startswith("/admin/sign-in?next=")


def test_percent() -> None:
    assert (percent(None), percent(0.8571), percent(1.0)) == ("—", "85.7%", "100.0%")
