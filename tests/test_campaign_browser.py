"""The campaign report in a real browser (Playwright driving Debian's Chromium) against a real gateway.

A campaign is sent through the sandbox (delivered, fallen back to LMS, refused, LMS, email); a viewer follows the
dashboard's link to its report, sees the funnel as SVG and as a table with the numbers of those messages, and
downloads the CSV.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.conftest import EMAIL_BODY, LMS_BODY, SEED_BODY, VIEWER_TOKEN
from tests.live_server import LiveGateway, live_gateway
from tests.test_console_browser import browser  # noqa: F401 - the module's Chromium fixture

__all__ = ("CAMPAIGN", "CAMPAIGN_ENV", "seed_campaign")

CAMPAIGN = "c-autumn"
#: Prices, and the recipient whose kakao message KakaoTalk cannot deliver (it falls back to LMS).
CAMPAIGN_ENV = {
    "GATEWAY_PRICES": "kakao=15,lms=30,email=0.5",
    "GATEWAY_SANDBOX_OUTCOMES": "nhn_kakao:010-0000-0002=3019",
}


def seed_campaign(gateway: LiveGateway) -> None:
    """Send campaign c-autumn: two kakao delivered, one fallen back to LMS, one refused, an LMS and an email."""
    braze = {"campaignId": CAMPAIGN, "campaignName": "가을 실시간 베스트", "dispatchId": "d-autumn-1"}
    for user, phone in (("a", "010-0000-0001"), ("b", "010-0000-0003")):
        gateway.wait_for(gateway.post(SEED_BODY | braze | {"userId": user, "phone": phone}), "delivered")
    fell_back = gateway.post(SEED_BODY | braze | {"userId": "c", "phone": "010-0000-0002"})
    child = gateway.wait_for(fell_back, "fallback")["message"]["childId"]
    gateway.wait_for(child, "delivered")
    gateway.send_dead(**braze, userId="d")
    gateway.wait_for(gateway.post(LMS_BODY | braze | {"userId": "e"}), "delivered")
    gateway.wait_for(gateway.post(EMAIL_BODY | braze | {"userId": "f"}), "delivered")


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[LiveGateway]:
    with live_gateway(tmp_path, **CAMPAIGN_ENV) as live:
        yield live


def test_a_viewer_opens_a_campaign_from_the_dashboard_and_downloads_its_csv(
    browser: Browser,  # noqa: F811 - the fixture imported above
    gateway: LiveGateway,
) -> None:
    seed_campaign(gateway)
    page = browser.new_page(accept_downloads=True)

    page.goto(f"{gateway.url}/admin")
    page.get_by_label("직원 토큰 Staff token").fill(VIEWER_TOKEN)
    page.get_by_role("button", name="로그인 Sign in").click()
    page.get_by_role("link", name="가을 실시간 베스트").click()

    expect(page.get_by_role("heading", name="캠페인 보고서 Campaign report")).to_be_visible()
    expect(page.locator(".tiles .tile").first).to_contain_text("6")
    expect(page.get_by_role("img", name="수신 → 결과 Funnel: received messages by outcome")).to_be_visible()
    rows = page.locator("table.funnel tbody tr")
    expect(rows).to_have_count(4)
    # kakao: 4 received, 3 accepted, 2 delivered, 1 fell back, 1 failed (refused).
    expect(rows.nth(0)).to_have_text("kakao 4 3 2 1 1 0 0 0 0 50.0%", use_inner_text=True)
    expect(rows.nth(2)).to_contain_text("lms (fallback)")
    expect(page.locator("table.failures")).to_contain_text("not reachable by KakaoTalk: sent as LMS")
    expect(page.locator("table.cost")).to_contain_text("₩15.0")
    with page.expect_download() as download:
        page.get_by_role("link", name="CSV 내려받기 Download CSV").click()
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    table = list(csv.reader(io.StringIO(text)))
    assert table[0] == ["campaignId", CAMPAIGN, "campaignName", "가을 실시간 베스트"]
    assert table[1][:6] == ["received", "6", "reached", "5", "cost", str(2 * 15 + 2 * 30 + 0.5)]
