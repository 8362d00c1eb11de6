"""The console over HTTP: sign-in, session and CSRF cookies, pages by role, reveal, replay and bulk replay."""

from __future__ import annotations

from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from gateway.app import create_app
from tests.conftest import OPERATOR_TOKEN, SEED_BODY, VIEWER_TOKEN, Clock, make_settings, staff_headers
from tests.gateway.api.messages import (
    EMAIL_BODY,
    Client,
    post_message,
    send_dead,
    send_delivered,
    settle_receipts,
)
from tests.gateway.console.helpers import csrf, sign_in


async def _status(client: Client, message_id: str) -> str:
    response = await client.get(f"/v1/admin/messages/{message_id}", headers=staff_headers())
    return str(response.json()["message"]["status"])


async def test_pages_need_a_session_and_send_the_visitor_to_sign_in(client: Client) -> None:
    response = await client.get("/admin/messages?userId=u-1", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == "/admin/sign-in?next=%2Fadmin%2Fmessages%3FuserId%3Du-1"


async def test_the_sign_in_form_sets_a_locked_down_csrf_cookie(client: Client) -> None:
    response = await client.get("/admin/sign-in")

    assert response.status_code == 200
    assert "직원 토큰 Staff token" in response.text
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("gateway_csrf=")
    assert "HttpOnly" in cookie
    assert "Path=/admin" in cookie
    assert "SameSite=lax" in cookie
    assert "Secure" not in cookie


async def test_a_wrong_token_is_a_401_without_a_hint(client: Client) -> None:
    await client.get("/admin/sign-in")

    response = await client.post("/admin/sign-in", data={"token": "viewer-token-2", "_csrf_token": csrf(client)})

    assert response.status_code == 401
    assert "로그인 실패 Sign-in failed" in response.text
    for hint in ("viewer", "operator", "ann", "expired", "unknown"):
        assert hint not in response.text.lower()
    assert "gateway_session" not in response.headers.get("set-cookie", "")


async def test_signing_in_without_the_csrf_token_is_refused(client: Client) -> None:
    await client.get("/admin/sign-in")

    response = await client.post("/admin/sign-in", data={"token": VIEWER_TOKEN})

    assert response.status_code == 403
    assert "The form expired" in response.text


async def test_signing_in_sets_an_encrypted_http_only_session_cookie_and_follows_next(client: Client) -> None:
    await client.get("/admin/sign-in")

    response = await client.post(
        "/admin/sign-in",
        data={"token": VIEWER_TOKEN, "_csrf_token": csrf(client), "next": "/admin/messages?userId=u-1"},
        follow_redirects=False,
    )

    assert response.status_code == 303
    assert response.headers["location"] == "/admin/messages?userId=u-1"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("gateway_session=")
    assert all(part in cookie for part in ("HttpOnly", "Path=/admin", "SameSite=lax", "Max-Age=28800"))
    assert VIEWER_TOKEN not in cookie
    assert "ann" not in cookie.split(";")[0]


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/admin", "/v1/admin/messages"])
async def test_sign_in_never_redirects_outside_the_console(client: Client, target: str) -> None:
    await client.get("/admin/sign-in")

    response = await client.post(
        "/admin/sign-in",
        data={"token": VIEWER_TOKEN, "_csrf_token": csrf(client), "next": target},
        follow_redirects=False,
    )

    assert response.headers["location"] == "/admin"


async def test_cookies_are_secure_when_configured(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path, GATEWAY_COOKIE_SECURE="on"), clock=Clock(), start_dispatcher=False)
    async with AsyncTestClient(app, base_url="https://testserver.local") as client:
        form = await client.get("/admin/sign-in")
        signed = await client.post(
            "/admin/sign-in", data={"token": VIEWER_TOKEN, "_csrf_token": csrf(client)}, follow_redirects=False
        )

    assert "Secure" in form.headers["set-cookie"]
    assert "Secure" in signed.headers["set-cookie"]


async def test_signing_out_ends_the_session(client: Client) -> None:
    token = await sign_in(client)

    response = await client.post("/admin/sign-out", data={"_csrf_token": token}, follow_redirects=False)

    assert response.headers["location"] == "/admin/sign-in"
    assert (await client.get("/admin/", follow_redirects=False)).status_code == 303


async def test_pages_are_never_cached_nor_framed(client: Client) -> None:
    await sign_in(client)

    response = await client.get("/admin/")

    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


async def test_the_dashboard_shows_the_days_counts_and_failures_by_vendor_code(
    app: Litestar, client: Client, clock: Clock
) -> None:
    await send_delivered(app, client)
    await send_dead(app, client, dispatchId="d-dead")
    clock.advance(1)
    await sign_in(client)

    page = (await client.get("/admin/")).text

    assert "최근 실패 Recent failures" in page
    assert "<code>-3006</code>" in page
    assert "버튼 링크가 http(s)로 시작하지 않음 · a button link does not start with http(s)" in page
    assert '<span class="badge status-dead" title="dead">발송 불가 <span class="en">dead</span></span>' in page
    assert "<b>2</b><span>전체 메시지 Messages</span>" in page


async def test_the_dashboard_and_the_stats_count_a_failure_a_receipt_reported(
    app: Litestar, client: Client, clock: Clock
) -> None:
    app.state.runtime.emulators["nhn_kakao"].outcomes["01012345678"] = "3019"
    message_id = await send_delivered(app, client, fallback="none")
    await settle_receipts(app)
    clock.advance(1)
    await sign_in(client)

    page = (await client.get("/admin/")).text
    stats = (await client.get("/v1/admin/stats", headers=staff_headers())).json()

    assert await _status(client, message_id) == "failed"
    assert stats["byStatus"] == {"failed": 1}
    assert [(f["vendor"], f["channel"], f["code"], f["count"]) for f in stats["failures"]] == [
        ("nhn", "kakao", "3019", 1)
    ]
    assert "<code>3019</code>" in page
    assert "카카오톡 사용자가 아님" in page
    assert "No failures" not in page


async def test_a_viewer_searches_by_user_id_and_sees_masked_numbers_only(app: Litestar, client: Client) -> None:
    message_id = await send_delivered(app, client)
    await send_delivered(app, client, EMAIL_BODY)
    await sign_in(client)

    page = (await client.get("/admin/messages", params={"userId": SEED_BODY["userId"]})).text
    detail = (await client.get(f"/admin/messages/{message_id}")).text

    assert f'href="/admin/messages/{message_id}"' in page
    assert "010-****-5678" in page
    assert "j***@example.com" not in page  # another user's message
    assert "010-****-5678" in detail
    for text in (page, detail):
        assert "01012345678" not in text
        assert "010-1234-5678" not in text
    assert "Reveal contact details" not in detail
    assert "재발송 Replay" not in detail


async def test_the_message_page_reads_as_a_timeline(app: Litestar, client: Client) -> None:
    message_id = await send_dead(app, client)
    await sign_in(client)

    page = (await client.get(f"/admin/messages/{message_id}")).text

    order = [
        "수신 Received",
        "정규화 Normalised",
        "시도 Attempt 1",
        "HTTP 200 · code -3006 · 영구 오류 permanent",
        "버튼 링크가 http(s)로 시작하지 않음",
        "→ 발송 불가 dead",
        "발송사가 거절함",
    ]
    positions = [page.index(text) for text in order]
    assert positions == sorted(positions)
    assert "2026-11-27 12:00:00" in page  # KST


async def test_search_with_bad_filters_names_them_on_the_page(client: Client) -> None:
    await sign_in(client)

    response = await client.get("/admin/messages", params={"phone": "123", "from": "soon"})

    assert response.status_code == 400
    assert "<code>phone</code>" in response.text
    assert "<code>from</code>" in response.text


async def test_search_times_without_an_offset_are_kst(app: Litestar, client: Client) -> None:
    message_id = await post_message(client)  # created 12:00 KST
    await sign_in(client)

    before = (await client.get("/admin/messages", params={"to": "2026-11-27T12:00"})).text
    after = (await client.get("/admin/messages", params={"from": "2026-11-27T12:00"})).text

    assert message_id not in before
    assert message_id in after


async def test_viewers_may_not_replay_reveal_or_read_the_audit_log(app: Litestar, client: Client) -> None:
    message_id = await send_dead(app, client)
    token = await sign_in(client)

    replay = await client.post(f"/admin/messages/{message_id}/replay", data={"_csrf_token": token})
    reveal = await client.post(f"/admin/messages/{message_id}/reveal", data={"_csrf_token": token})
    audit = await client.get("/admin/audit")

    assert [replay.status_code, reveal.status_code, audit.status_code] == [403, 403, 403]
    assert "01012345678" not in reveal.text
    assert await _status(client, message_id) == "dead"


async def test_an_operator_replays_a_dead_message_and_the_audit_log_shows_it(app: Litestar, client: Client) -> None:
    message_id = await send_dead(app, client)
    token = await sign_in(client, OPERATOR_TOKEN)

    response = await client.post(
        f"/admin/messages/{message_id}/replay", data={"_csrf_token": token}, follow_redirects=False
    )
    page = (await client.get(response.headers["location"])).text
    audit = (await client.get("/admin/audit")).text

    assert response.headers["location"] == f"/admin/messages/{message_id}?replayed=1"
    assert "재발송 대기열에 넣었습니다. Queued for replay." in page
    assert await _status(client, message_id) == "queued"
    assert await app.state.dispatcher.run_once() == 1
    assert await _status(client, message_id) == "accepted"
    assert "badge action-replay" in audit
    assert f"<code>{message_id}</code>" in audit


async def test_a_replay_form_without_the_csrf_token_changes_nothing(app: Litestar, client: Client) -> None:
    message_id = await send_dead(app, client)
    await sign_in(client, OPERATOR_TOKEN)

    response = await client.post(f"/admin/messages/{message_id}/replay", data={})

    assert response.status_code == 403
    assert await _status(client, message_id) == "dead"


async def test_the_json_api_needs_no_csrf_token(app: Litestar, client: Client) -> None:
    message_id = await send_dead(app, client)

    response = await client.post(f"/v1/admin/messages/{message_id}/replay", headers=staff_headers(OPERATOR_TOKEN))

    assert response.status_code == 202


async def test_an_operator_reveal_is_audited_once_and_a_reload_neither_posts_nor_audits_again(
    app: Litestar, client: Client
) -> None:
    message_id = await send_delivered(app, client)
    token = await sign_in(client, OPERATOR_TOKEN)

    masked = (await client.get(f"/admin/messages/{message_id}")).text
    revealed = await client.post(
        f"/admin/messages/{message_id}/reveal", data={"_csrf_token": token}, follow_redirects=False
    )
    shown = await client.get(revealed.headers["location"])
    reloaded = await client.get(revealed.headers["location"])
    audit = (await client.get("/admin/audit")).text

    assert "01012345678" not in masked
    assert (revealed.status_code, revealed.headers["location"]) == (303, f"/admin/messages/{message_id}")
    for page in (shown, reloaded):
        assert page.status_code == 200
        assert "01012345678" in page.text
        assert "감사 로그에 기록되었습니다" in page.text
    assert audit.count("badge action-reveal") == 1


async def test_a_reveal_ends_after_five_minutes_and_covers_only_its_message(
    app: Litestar, client: Client, clock: Clock
) -> None:
    first = await send_delivered(app, client)
    other = await send_delivered(app, client, dispatchId="d-other")
    token = await sign_in(client, OPERATOR_TOKEN)
    await client.post(f"/admin/messages/{first}/reveal", data={"_csrf_token": token})

    other_page = (await client.get(f"/admin/messages/{other}")).text
    clock.advance(301)
    later = (await client.get(f"/admin/messages/{first}")).text

    assert "01012345678" not in other_page
    assert "01012345678" not in later


async def test_bulk_replay_shows_the_count_and_replays_only_once_confirmed(app: Litestar, client: Client) -> None:
    dead = [await send_dead(app, client, dispatchId=f"d-{n}") for n in range(2)]
    token = await sign_in(client, OPERATOR_TOKEN)
    form = {"_csrf_token": token, "status": "dead", "vendor": "nhn"}

    search = (await client.get("/admin/messages", params={"status": "dead", "vendor": "nhn"})).text
    confirm = await client.post("/admin/replay/confirm", data=form)
    statuses_after_confirmation_page = [await _status(client, m) for m in dead]
    done = await client.post("/admin/replay", data=form, follow_redirects=False)
    done_page = (await client.get(done.headers["location"])).text

    assert 'action="/admin/replay/confirm"' in search
    assert 'action="/admin/replay"' not in search
    assert confirm.status_code == 200
    assert "2 finished message(s) will be sent again" in confirm.text
    assert 'action="/admin/replay"' in confirm.text
    assert "2건 재발송 Replay 2" in confirm.text
    assert statuses_after_confirmation_page == ["dead", "dead"]
    assert "2 message(s) replayed" in done_page
    assert [await _status(client, m) for m in dead] == ["queued", "queued"]


async def test_the_confirmation_of_a_bulk_replay_that_matches_nothing_offers_no_replay(
    app: Litestar, client: Client
) -> None:
    await send_delivered(app, client)
    token = await sign_in(client, OPERATOR_TOKEN)

    confirm = await client.post("/admin/replay/confirm", data={"_csrf_token": token, "vendor": "nhn"})

    assert "nothing to replay" in confirm.text
    assert 'action="/admin/replay"' not in confirm.text


async def test_the_bulk_replay_panel_is_not_offered_for_an_empty_result(client: Client) -> None:
    await sign_in(client, OPERATOR_TOKEN)

    page = (await client.get("/admin/messages", params={"userId": "nobody"})).text

    assert "No messages found" in page
    assert "일괄 재발송 Bulk replay" not in page


async def test_a_message_whose_personal_data_was_erased_offers_no_replay(app: Litestar, client: Client) -> None:
    message_id = await send_dead(app, client)
    erased = await client.request(
        "DELETE", f"/v1/admin/users/{SEED_BODY['userId']}/personal-data", headers=staff_headers(OPERATOR_TOKEN)
    )
    assert erased.status_code == 200
    token = await sign_in(client, OPERATOR_TOKEN)

    page = (await client.get(f"/admin/messages/{message_id}")).text
    response = await client.post(f"/admin/messages/{message_id}/replay", data={"_csrf_token": token})

    assert "재발송 Replay" not in page
    assert response.status_code == 409
    assert "personal data was erased" in response.text
    assert await _status(client, message_id) == "dead"


async def test_the_bulk_replay_form_says_what_it_replays_without_a_status(app: Litestar, client: Client) -> None:
    await send_dead(app, client)
    await sign_in(client, OPERATOR_TOKEN)

    page = (await client.get("/admin/messages", params={"vendor": "nhn"})).text

    assert "did not reach the user (dead, failed, suppressed, unknown)" in page
    assert "delivered and fallback messages only when the status filter names them" in page
    assert "personal data was erased are skipped" in page


async def test_a_form_sent_without_a_session_leads_to_sign_in_then_the_dashboard(client: Client) -> None:
    await client.get("/admin/sign-in")

    response = await client.post("/admin/messages/m/replay", data={"_csrf_token": csrf(client)}, follow_redirects=False)

    assert (response.status_code, response.headers["location"]) == (303, "/admin/sign-in")
