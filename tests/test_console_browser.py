"""The console in a real browser (Playwright driving Debian's Chromium) against a real gateway.

A viewer signs in, searches by user id, opens a message and sees the masked number and the message as the user
got it (a kakao bubble, an email in a sandboxed frame); an operator replays a dead message, which the running
dispatcher then delivers once, and replays in bulk only after a confirmation page with the count. On a 390 px
phone the filters fold after a search and no column of the results is cut off. A refused request is found by
user id and tells why. Chromium missing is a failure,
not a skip: ``make test`` installs it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.conftest import EMAIL_BODY, INGEST_TOKEN, OPERATOR_TOKEN, SEED_BODY, VIEWER_TOKEN
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
    expect(page.locator(".summary .badge")).to_have_attribute("title", "dead")
    page.get_by_role("button", name="재발송 Replay").click()

    expect(page.get_by_role("status")).to_contain_text("Queued for replay")
    detail = gateway.wait_for(dead, "accepted", "delivered")
    assert [a["outcome"] for a in detail["attempts"]] == ["permanent", "accepted"]
    assert len(emulator.requests) == 2
    page.get_by_role("navigation").get_by_role("link", name="감사 로그 Audit log").click()
    expect(page.locator("table")).to_contain_text("replay")
    expect(page.locator("table")).to_contain_text(dead)


def test_a_viewer_sees_the_message_as_the_user_got_it(browser: Browser, gateway: LiveGateway) -> None:
    kakao = gateway.send()
    email = gateway.post(
        EMAIL_BODY | {"content": '<p style="color: rgb(200, 0, 0)">이번 주 추천</p><script>document.title="x"</script>'}
    )
    gateway.wait_for(email, "accepted", "delivered")
    page = browser.new_page()
    _sign_in(page, gateway, VIEWER_TOKEN)

    page.goto(f"{gateway.url}/admin/messages/{kakao}")
    bubble = page.locator(".preview .bubble")
    expect(bubble).to_contain_text("헤어케어 카테고리에서 지금 가장 핫한 프로젝트는?")
    button = bubble.get_by_role("link", name="지금 확인하기")
    expect(button).to_have_attribute("href", SEED_BODY["buttonLinkMobile"])

    page.goto(f"{gateway.url}/admin/messages/{email}")
    frame_element = page.locator(".preview iframe")
    expect(frame_element).to_have_attribute("sandbox", "")
    frame = page.frame_locator(".preview iframe")
    paragraph = frame.locator("p")
    expect(paragraph).to_have_text("이번 주 추천")
    expect(paragraph).to_have_css("color", "rgb(200, 0, 0)")
    assert frame.locator("script").count() == 0
    assert page.title() != "x"


def test_an_operator_confirms_a_bulk_replay_after_seeing_the_count(browser: Browser, gateway: LiveGateway) -> None:
    dead = [gateway.send_dead(dispatchId=f"d-dead-{n}") for n in range(2)]
    page = browser.new_page()
    _sign_in(page, gateway, OPERATOR_TOKEN)
    page.goto(f"{gateway.url}/admin/messages?status=dead")

    page.get_by_role("button", name="일괄 재발송… Replay all…").click()

    expect(page.get_by_role("heading", name="일괄 재발송 확인 Confirm bulk replay")).to_be_visible()
    expect(page.locator(".confirm-count")).to_contain_text("2 finished message(s) will be sent again")
    assert [gateway.detail(m)["message"]["status"] for m in dead] == ["dead", "dead"]
    page.get_by_role("button", name="2건 재발송 Replay 2").click()

    expect(page.get_by_role("status")).to_contain_text("2 message(s) replayed")
    for message_id in dead:
        gateway.wait_for(message_id, "accepted", "delivered")


def test_on_a_phone_results_come_first_and_no_column_is_cut_off(browser: Browser, gateway: LiveGateway) -> None:
    gateway.send()
    page = browser.new_page(viewport={"width": 390, "height": 844})
    _sign_in(page, gateway, VIEWER_TOKEN)

    page.goto(f"{gateway.url}/admin/messages?userId={SEED_BODY['userId']}")

    expect(page.get_by_label("사용자 ID User ID")).to_be_hidden()
    results = page.get_by_role("heading", name="결과 Results")
    assert (results.bounding_box() or {"y": 9999})["y"] < 844
    for label in ("발송사 Vendor", "사용자 User", "수신처 Recipient", "시도 Attempts"):
        cell = page.locator(f'table.results td[data-label="{label}"]').first
        expect(cell).to_be_visible()
        box = cell.bounding_box()
        assert box is not None
        assert box["x"] + box["width"] <= 390, (label, box)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.locator(".filters-box > summary").click()
    expect(page.get_by_label("사용자 ID User ID")).to_be_visible()


def test_on_a_laptop_the_filters_stay_open_after_a_search(browser: Browser, gateway: LiveGateway) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    _sign_in(page, gateway, VIEWER_TOKEN)

    page.goto(f"{gateway.url}/admin/messages?userId=nobody")

    expect(page.get_by_label("사용자 ID User ID")).to_be_visible()
    expect(page.locator(".filters-box > summary")).to_be_hidden()


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
