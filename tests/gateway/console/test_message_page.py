"""The console's message page: what the user got, what normalisation changed, fallbacks, retries; the API docs."""

from __future__ import annotations

import html
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from adapters.emulator import Fault
from gateway.app import create_app
from gateway.console.pages import kst
from gateway.dispatch.retry import IN_PROCESS_ATTEMPTS
from tests.conftest import OPERATOR_TOKEN, SEED_BODY, Clock, make_settings, staff_headers
from tests.gateway.api.messages import (
    EMAIL_BODY,
    LMS_BODY,
    Client,
    send_delivered,
    settle_receipts,
)
from tests.gateway.console.helpers import sign_in

LINK = "https://www.wadiz.kr/web/campaign/detail/356850"


async def _page(client: Client, message_id: str) -> str:
    response = await client.get(f"/admin/messages/{message_id}")
    assert response.status_code == 200, response.text
    return response.text


async def test_a_kakao_message_is_previewed_as_a_bubble_with_its_buttons(app: Litestar, client: Client) -> None:
    message_id = await send_delivered(app, client)
    await sign_in(client)

    page = await _page(client, message_id)

    bubble = page[page.index('<div class="bubble">') : page.index("</section>", page.index('<div class="bubble">'))]
    assert "서포터님,\n헤어케어 카테고리에서" in bubble
    assert f'<a class="kakao-button" href="{LINK}"' in bubble
    assert ">지금 확인하기</a>" in bubble


@pytest.fixture
async def ad_client(tmp_path: Path, clock: Clock) -> AsyncIterator[tuple[Litestar, Client]]:
    settings = make_settings(tmp_path, GATEWAY_SENDER_NAME="와디즈", GATEWAY_OPT_OUT_080="080-123-4567")
    app = create_app(settings, clock=clock, start_dispatcher=False)
    async with AsyncTestClient(app) as client:
        yield app, client


async def test_an_advertising_lms_is_previewed_with_its_title_prefix_and_opt_out_line_as_sent(
    ad_client: tuple[Litestar, Client],
) -> None:
    app, client = ad_client
    message_id = await send_delivered(app, client, LMS_BODY | {"ad": "true"})
    await sign_in(client)

    page = await _page(client, message_id)

    sms = page[page.index('<div class="sms">') :]
    assert '<div class="title">지금 가장 핫한 프로젝트</div>' in sms
    text = sms[sms.index('<div class="text">') : sms.index("</div>", sms.index('<div class="text">'))]
    assert text.startswith('<div class="text">(광고)와디즈')
    assert text.rstrip().endswith("무료거부 080-123-4567")


async def test_an_email_is_previewed_in_a_sandboxed_frame_with_a_strict_policy(app: Litestar, client: Client) -> None:
    body = EMAIL_BODY | {"content": '<p style="color:red">안녕 jane@example.com</p><script>alert(1)</script>'}
    message_id = await send_delivered(app, client, body)
    await sign_in(client)

    page = await _page(client, message_id)
    frame = await client.get(f"/admin/messages/{message_id}/email-preview")

    assert f'<iframe sandbox src="/admin/messages/{message_id}/email-preview"' in page
    assert "제목 Subject: <b>이번 주 추천 프로젝트</b>" in page
    policy = frame.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "sandbox" in policy
    assert "script" not in policy
    assert "frame-ancestors 'self'" in policy
    assert '<p style="color:red">' in frame.text
    assert "<script" not in frame.text
    assert "jane@example.com" not in frame.text
    assert "j***@example.com" in frame.text


async def test_the_email_preview_needs_a_session_and_an_email(app: Litestar, client: Client) -> None:
    kakao = await send_delivered(app, client)

    unsigned = await client.get(f"/admin/messages/{kakao}/email-preview", follow_redirects=False)
    await sign_in(client)
    not_email = await client.get(f"/admin/messages/{kakao}/email-preview")

    assert unsigned.status_code == 303
    assert not_email.status_code == 404


async def test_a_percent_encoded_link_is_shown_as_a_change(app: Litestar, client: Client) -> None:
    message_id = await send_delivered(app, client, buttonLinkMobile=f"{LINK}?q=헤어 팩", buttonLinkPC="")
    await sign_in(client)

    page = await _page(client, message_id)

    assert "nothing changed" not in page
    assert "buttonLinkMobile: 바뀜 changed" in page
    encoded = f"{LINK}?q=%ED%97%A4%EC%96%B4%20%ED%8C%A9"
    row = page[page.index("<code>buttonLinkMobile</code>") :]
    assert f"{LINK}?q=헤어 팩" in row
    assert encoded in row
    assert "<code>buttonLinkPC</code>" in page  # filled in from the mobile link


async def test_a_message_sent_as_received_says_nothing_changed(app: Litestar, client: Client) -> None:
    message_id = await send_delivered(app, client, EMAIL_BODY | {"content": "<p>안녕하세요</p>"})
    await sign_in(client)

    page = await _page(client, message_id)

    assert "변경 없음 nothing changed" in page


async def test_a_retrying_message_shows_when_it_is_tried_next_in_kst(app: Litestar, client: Client) -> None:
    # More failures than the dispatcher's quick in-process retries: the message waits for its next attempt.
    app.state.runtime.emulators["nhn_kakao"].script(*[Fault(vendor_code="-9999")] * (IN_PROCESS_ATTEMPTS + 1))
    message_id = await send_delivered(app, client)
    await sign_in(client)
    detail = (await client.get(f"/v1/admin/messages/{message_id}", headers=staff_headers())).json()

    page = await _page(client, message_id)
    search = (await client.get("/admin/messages", params={"userId": SEED_BODY["userId"]})).text

    assert detail["message"]["status"] == "retrying"
    due = detail["message"]["nextAttemptAt"]
    shown = kst(due)
    assert shown.startswith("2026-11-27 12:")
    assert f'<dd class="next-attempt">{shown}</dd>' in page
    assert f"다음 시도 Next attempt {shown} KST" in page
    assert f"다음 Next {shown}" in search


async def test_a_message_that_fell_back_shows_its_lms_with_times_and_replays_it(app: Litestar, client: Client) -> None:
    app.state.runtime.emulators["nhn_kakao"].outcomes["01012345678"] = "3018"
    kakao_id = await send_delivered(app, client)
    await settle_receipts(app)
    assert await app.state.dispatcher.run_once() == 1
    await settle_receipts(app)
    token = await sign_in(client, OPERATOR_TOKEN)

    before = await _page(client, kakao_id)
    await client.post(f"/admin/messages/{kakao_id}/replay", data={"_csrf_token": token})
    assert await app.state.dispatcher.run_once() == 1
    await settle_receipts(app)
    after = await _page(client, kakao_id)

    assert "대체 LMS 재발송 Replay its LMS" in before
    assert "대체 LMS Fallback LMS → 전달됨 delivered" in before
    assert '<span class="badge status-fallback" title="fallback">' in after
    assert after.count("대체 LMS Fallback LMS → 전달됨 delivered") == 2
    assert "직원이 재발송함" in after
    assert "replayed by bo" in after
    timeline = after[after.index('<ol class="timeline">') :]
    assert '<div class="when"></div>' not in timeline


async def test_signed_in_staff_read_the_api_docs_without_any_script(app: Litestar, client: Client) -> None:
    unsigned = await client.get("/admin/api/openapi.json", follow_redirects=False)
    await sign_in(client)

    page = await client.get("/admin/api")
    document = await client.get("/admin/api/openapi.json")
    as_yaml = await client.get("/admin/api/openapi.yaml")

    assert unsigned.status_code == 303
    assert "<code>/v1/admin/messages</code>" in page.text
    assert html.escape("Search messages, newest first") in page.text
    assert "<script" not in page.text
    assert "/v1/braze/messages" in document.json()["paths"]
    assert "openapi: 3.1.0" in as_yaml.text


@pytest.mark.parametrize("path", ["/schema/swagger", "/schema/redoc", "/schema/elements", "/schema/rapidoc"])
async def test_the_schema_serves_no_page_that_loads_scripts_from_a_cdn(client: Client, path: str) -> None:
    response = await client.get(path, headers=staff_headers())

    assert response.status_code == 404
    assert (await client.get("/schema/openapi.json", headers=staff_headers())).status_code == 200
