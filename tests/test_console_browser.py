"""The console in a real browser (Playwright driving Debian's Chromium) against a real gateway.

A viewer signs in, searches by user id, opens a message and sees the masked number; an operator replays a dead
message, which the running dispatcher then delivers once. Chromium missing is a failure, not a skip:
``.ci/run`` installs it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.conftest import INGEST_TOKEN, OPERATOR_TOKEN, SEED_BODY, VIEWER_TOKEN
from tests.live_server import LiveGateway, live_gateway

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: make test installs it, or apt-get install chromium"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[LiveGateway]:
    with live_gateway(tmp_path) as live:
        yield live


def _sign_in(page: Page, gateway: LiveGateway, token: str) -> None:
    page.goto(f"{gateway.url}/admin")
    expect(page).to_have_url(f"{gateway.url}/admin/sign-in?next=%2Fadmin")
    page.get_by_label("직원 토큰 Staff token").fill(token)
    page.get_by_role("button", name="로그인 Sign in").click()
    expect(page.get_by_role("heading", name="대시보드 Dashboard")).to_be_visible()


def test_a_viewer_finds_a_message_by_user_id_and_sees_the_number_masked(browser: Browser, gateway: LiveGateway) -> None:
    delivered = gateway.send()
    dead = gateway.send_dead(dispatchId="d-dead")
    page = browser.new_page()

    _sign_in(page, gateway, VIEWER_TOKEN)
    page.get_by_role("navigation").get_by_role("link", name="검색 Search").click()
    page.get_by_label("사용자 ID User ID").fill(SEED_BODY["userId"])
    page.get_by_role("button", name="검색 Search").click()

    rows = page.locator("table.results tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("dead")
    expect(rows.last).to_contain_text(re.compile("accepted|delivered"))
    page.locator(f'a[href="/admin/messages/{delivered}"]').click()
    expect(page.locator(".summary")).to_contain_text("010-****-5678")
    expect(page.locator(".timeline")).to_contain_text("시도 Attempt 1")
    assert "01012345678" not in page.content()
    expect(page.get_by_role("button", name="재발송 Replay")).to_have_count(0)
    assert gateway.detail(dead)["message"]["status"] == "dead"


def test_an_operator_replays_a_dead_message_and_it_is_delivered_once(browser: Browser, gateway: LiveGateway) -> None:
    dead = gateway.send_dead()
    emulator = gateway.app.state.runtime.emulators["nhn_kakao"]
    page = browser.new_page()

    _sign_in(page, gateway, OPERATOR_TOKEN)
    page.goto(f"{gateway.url}/admin/messages/{dead}")
    expect(page.locator(".summary .badge")).to_have_text("dead")
    page.get_by_role("button", name="재발송 Replay").click()

    expect(page.get_by_role("status")).to_contain_text("Queued for replay")
    detail = gateway.wait_for(dead, "accepted", "delivered")
    assert [a["outcome"] for a in detail["attempts"]] == ["permanent", "accepted"]
    assert len(emulator.requests) == 2
    page.get_by_role("navigation").get_by_role("link", name="감사 로그 Audit log").click()
    expect(page.locator("table")).to_contain_text("replay")
    expect(page.locator("table")).to_contain_text(dead)


def test_a_viewer_finds_a_refused_request_by_user_id_and_reads_why(browser: Browser, gateway: LiveGateway) -> None:
    refused = httpx.post(
        f"{gateway.url}/v1/braze/messages",
        json=SEED_BODY | {"buttonLinkMobile": "", "buttonLinkPC": ""},
        headers={"Authorization": f"Bearer {INGEST_TOKEN}"},
    )
    assert refused.status_code == 422
    page = browser.new_page()

    _sign_in(page, gateway, VIEWER_TOKEN)
    expect(page.locator(".tiles")).to_contain_text("거부된 요청 Refused requests")
    page.get_by_role("navigation").get_by_role("link", name="검색 Search").click()
    page.get_by_label("사용자 ID User ID").fill(SEED_BODY["userId"])
    page.get_by_label("상태 Status").select_option("refused")
    page.get_by_role("button", name="검색 Search").click()

    rows = page.locator("table.refusals tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("422")
    expect(rows.first).to_contain_text("buttonLinkMobile")
    expect(rows.first).to_contain_text("buttonLinkPC")
    rows.first.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Refused request")
    expect(page.locator(".errors")).to_contain_text("has no link")
    expect(page.locator(".summary")).to_contain_text("010-****-5678")
    assert "010-1234-5678" not in page.content()
