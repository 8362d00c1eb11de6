"""The support API through the real app: search and its filters, pages, masking by role, reveal, replay, bulk
replay, stats, the audit log and erasure."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from litestar import Litestar

from adapters.emulator import Fault
from gateway.api import support
from gateway.models import Status
from tests.conftest import OPERATOR_TOKEN, SEED_BODY, Clock, ingest_headers, staff_headers
from tests.gateway.api.messages import EMAIL_BODY, LMS_BODY, Client, post_message, send_dead, send_delivered

OPERATOR = staff_headers(OPERATOR_TOKEN)


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


async def _search(client: Client, headers: dict[str, str] | None = None, **params: str) -> dict[str, Any]:
    response = await client.get("/v1/admin/messages", params=params, headers=headers or staff_headers())
    assert response.status_code == 200, response.text
    return dict(response.json())


async def _ids(client: Client, **params: str) -> set[str]:
    return {item["messageId"] for item in (await _search(client, None, **params))["items"]}


async def _detail(client: Client, message_id: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    response = await client.get(f"/v1/admin/messages/{message_id}", headers=headers or staff_headers())
    assert response.status_code == 200, response.text
    return dict(response.json())


async def _audit(client: Client) -> list[dict[str, Any]]:
    response = await client.get("/v1/admin/audit", headers=OPERATOR)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


@pytest.fixture
async def corpus(app: Litestar, client: Client, clock: Clock) -> dict[str, str]:
    """Four messages a minute apart: kakao accepted, LMS through Solapi, email, kakao dead."""
    ids = {"kakao": await send_delivered(app, client)}
    clock.advance(60)
    ids["lms"] = await send_delivered(app, client, LMS_BODY, vendor="solapi")
    clock.advance(60)
    ids["email"] = await send_delivered(app, client, EMAIL_BODY)
    clock.advance(60)
    ids["dead"] = await send_dead(app, client, dispatchId="d-dead")
    return ids


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, {"kakao", "lms", "email", "dead"}),
        ({"status": "dead"}, {"dead"}),
        ({"status": "ACCEPTED"}, {"kakao", "lms", "email"}),
        ({"channel": "lms"}, {"lms"}),
        ({"vendor": "solapi"}, {"lms"}),
        ({"vendor": "sendgrid"}, {"email"}),
        ({"campaignId": "c1a2b3"}, {"kakao", "email", "dead"}),
        ({"dispatchId": "d-mail"}, {"email"}),
        ({"userId": SEED_BODY["userId"]}, {"kakao", "dead"}),
        ({"phone": "+82 10 1234 5678"}, {"kakao", "dead"}),
        ({"phone": "010-9876-5432"}, {"lms"}),
        ({"email": "jane@EXAMPLE.com"}, {"email"}),
        ({"userId": SEED_BODY["userId"], "status": "accepted"}, {"kakao"}),
    ],
)
async def test_every_filter_finds_exactly_its_messages(
    client: Client, corpus: dict[str, str], params: dict[str, str], expected: set[str]
) -> None:
    assert await _ids(client, **params) == {corpus[name] for name in expected}


async def test_the_time_range_includes_from_and_excludes_to(
    client: Client, corpus: dict[str, str], clock: Clock
) -> None:
    lms_at = clock.now - 120  # the corpus is a minute apart, ending with the dead message at clock.now

    found = await _ids(client, **{"from": _iso(lms_at), "to": _iso(clock.now)})

    assert found == {corpus["lms"], corpus["email"]}
    assert await _ids(client, **{"from": "2026-11-27T12:01:00+09:00"}) == {
        corpus["lms"],
        corpus["email"],
        corpus["dead"],
    }


async def test_pages_follow_the_cursor_newest_first(app: Litestar, client: Client, clock: Clock) -> None:
    posted = []
    for number in range(5):
        posted.append(await post_message(client, dispatchId=f"d-{number}"))
        clock.advance(1)
    seen: list[str] = []
    cursor = None
    for _ in range(3):
        page = await _search(client, limit="2", **({"cursor": cursor} if cursor else {}))
        seen += [item["messageId"] for item in page["items"]]
        cursor = page["nextCursor"]

    assert seen == posted[::-1]
    assert cursor is None


async def test_bad_filters_are_a_400_naming_each_parameter(client: Client) -> None:
    params = {
        "status": "sent",
        "channel": "sms",
        "vendor": "twilio",
        "phone": "12345",
        "email": "not-an-email",
        "from": "yesterday",
        "limit": "0",
    }

    response = await client.get("/v1/admin/messages", params=params, headers=staff_headers())

    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == [
        "status",
        "channel",
        "vendor",
        "phone",
        "email",
        "from",
        "limit",
    ]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"from": "2026-11-27T12:00:00+09:00", "to": "2026-11-27T11:00:00+09:00"}, "to"),
        ({"limit": "201"}, "limit"),
    ],
)
async def test_a_bad_cursor_range_or_limit_is_a_400(client: Client, params: dict[str, str], field: str) -> None:
    response = await client.get("/v1/admin/messages", params=params, headers=staff_headers())

    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == [field]


async def test_viewers_see_contact_details_masked_everywhere(client: Client, corpus: dict[str, str]) -> None:
    [kakao] = (await _search(client, userId=SEED_BODY["userId"], status="accepted"))["items"]
    detail = await _detail(client, corpus["kakao"])
    email = await _detail(client, corpus["email"])
    text = str(detail) + str(email)

    assert kakao["phone"] == detail["message"]["phone"] == "010-****-5678"
    assert email["message"]["email"] == "j***@example.com"
    assert "01012345678" not in text
    assert "jane@example.com" not in text
    assert detail["revealed"] is False


def _keys(value: Any) -> set[str]:
    """Every key of a JSON value, at any depth."""
    if isinstance(value, dict):
        return set(value) | {key for item in value.values() for key in _keys(item)}
    if isinstance(value, list):
        return {key for item in value for key in _keys(item)}
    return set()


async def test_the_admin_json_is_camel_case_throughout_and_its_schema_says_so(
    client: Client, corpus: dict[str, str]
) -> None:
    detail = await _detail(client, corpus["kakao"])
    normalised = detail["normalised"]
    assert (normalised["userId"], normalised["phone"]) == (SEED_BODY["userId"], "010-****-5678")
    assert normalised["buttons"][0]["linkMobile"] == SEED_BODY["buttonLinkMobile"]
    assert normalised["braze"]["campaignId"] == SEED_BODY["campaignId"]
    shown = {key for key in _keys({k: v for k, v in detail.items() if k != "vendorRequest"}) if "_" in key}
    assert shown == set()
    schema = (await client.get("/schema/openapi.json", headers=staff_headers())).json()
    properties = schema["components"]["schemas"]["NormalisedView"]["properties"]
    assert {"userId", "imageUrl", "buttons", "braze"} <= set(properties)
    assert not [name for name in properties if "_" in name]


async def test_a_viewer_may_not_reveal(client: Client, corpus: dict[str, str]) -> None:
    response = await client.get(f"/v1/admin/messages/{corpus['kakao']}?reveal=true", headers=staff_headers())

    assert response.status_code == 403
    assert "01012345678" not in response.text


async def test_an_operator_reveal_shows_contact_details_and_is_audited(client: Client, corpus: dict[str, str]) -> None:
    masked = await _detail(client, corpus["email"], OPERATOR)
    response = await client.get(f"/v1/admin/messages/{corpus['email']}?reveal=true", headers=OPERATOR)

    assert masked["message"]["email"] == "j***@example.com"
    assert response.status_code == 200
    assert response.json()["message"]["email"] == "jane@example.com"
    assert response.json()["revealed"] is True
    [entry] = await _audit(client)
    assert (entry["staff"], entry["role"], entry["action"], entry["target"]) == (
        "bo",
        "operator",
        "reveal",
        corpus["email"],
    )
    assert entry["at"] == "2026-11-27T03:03:00.000Z"


async def test_revealing_an_unknown_message_is_a_404_and_not_audited(client: Client) -> None:
    response = await client.get("/v1/admin/messages/nope?reveal=true", headers=OPERATOR)

    assert response.status_code == 404
    assert await _audit(client) == []


async def test_a_replayed_dead_message_is_delivered_once(app: Litestar, client: Client) -> None:
    dead = await send_dead(app, client)
    emulator = app.state.runtime.emulators["nhn_kakao"]

    response = await client.post(f"/v1/admin/messages/{dead}/replay", headers=OPERATOR)
    assert response.status_code == 202
    assert response.json() == {"messageId": dead, "status": "queued"}
    assert await app.state.dispatcher.run_once() == 1
    assert await app.state.dispatcher.run_once() == 0

    detail = await _detail(client, dead)
    assert detail["message"]["status"] == "accepted"
    assert [a["outcome"] for a in detail["attempts"]] == ["permanent", "accepted"]
    assert [e["status"] for e in detail["timeline"]] == ["queued", "dead", "queued", "accepted"]
    assert detail["timeline"][2]["reason"] == "replayed by bo"
    assert len(emulator.requests) == 2
    [entry] = await _audit(client)
    assert (entry["action"], entry["target"], entry["detail"]) == ("replay", dead, "was dead")


async def test_a_replay_soon_after_an_nhn_send_is_really_sent_again(app: Litestar, client: Client) -> None:
    failed = await send_delivered(app, client, fallback="none")
    # A receipt failed it minutes after NHN took it; NHN still remembers the first idempotency key.
    await app.state.store.transition(failed, Status.FAILED, "test: receipt 3022", now=app.state.clock())
    await client.post(f"/v1/admin/messages/{failed}/replay", headers=OPERATOR)
    assert await app.state.dispatcher.run_once() == 1

    emulator = app.state.runtime.emulators["nhn_kakao"]
    first, second = (request.headers["X-NC-API-IDEMPOTENCY-KEY"] for request in emulator.requests)
    assert first == failed
    assert second != first
    assert second.startswith(failed)
    detail = await _detail(client, failed)
    assert detail["attempts"][-1]["vendorCode"] != "-1005"
    assert detail["message"]["vendorMessageId"] is not None


async def test_a_replay_gets_a_fresh_retry_budget(app: Litestar, client: Client, clock: Clock) -> None:
    dead = await send_dead(app, client)
    clock.advance(3 * 24 * 3600)  # long past the message's own budget
    await client.post(f"/v1/admin/messages/{dead}/replay", headers=OPERATOR)
    app.state.runtime.emulators["nhn_kakao"].script(*[Fault(http_status=503)] * 3)

    await app.state.dispatcher.run_once()

    detail = await _detail(client, dead)
    assert detail["message"]["status"] == "retrying"


async def test_replaying_an_unfinished_message_is_a_409(app: Litestar, client: Client) -> None:
    queued = await post_message(client)

    response = await client.post(f"/v1/admin/messages/{queued}/replay", headers=OPERATOR)

    assert response.status_code == 409
    assert "queued" in response.json()["detail"]
    assert (await client.post("/v1/admin/messages/nope/replay", headers=OPERATOR)).status_code == 404
    assert await _audit(client) == []


async def test_bulk_replay_counts_on_a_dry_run_then_replays_each_once(app: Litestar, client: Client) -> None:
    dead = [await send_dead(app, client, dispatchId=f"d-{n}") for n in range(3)]
    accepted = await send_delivered(app, client, dispatchId="d-fine")
    emulator = app.state.runtime.emulators["nhn_kakao"]
    body = {"vendor": "nhn", "phone": "010-1234-5678"}

    dry = await client.post("/v1/admin/replay", json=body | {"dryRun": True}, headers=OPERATOR)
    assert dry.status_code == 200
    assert dry.json() == {"dryRun": True, "count": 3, "limit": support.REPLAY_LIMIT, "more": False}
    assert {(await _detail(client, m))["message"]["status"] for m in dead} == {"dead"}
    assert await _audit(client) == []

    done = await client.post("/v1/admin/replay", json=body, headers=OPERATOR)
    assert done.status_code == 202
    assert done.json()["count"] == 3
    assert await app.state.dispatcher.run_once() == 3
    assert {(await _detail(client, m))["message"]["status"] for m in dead} == {"accepted"}
    assert len(emulator.requests) == 3 + 1 + 3
    assert len((await _detail(client, accepted))["attempts"]) == 1
    [entry] = await _audit(client)
    assert (entry["action"], entry["target"], entry["detail"]) == (
        "bulk_replay",
        "vendor=nhn phone=010-****-5678",
        "3 replayed",
    )


async def test_bulk_replay_is_capped_and_says_so(
    app: Litestar, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(support, "REPLAY_LIMIT", 2)
    dead = [await send_dead(app, client, dispatchId=f"d-{n}") for n in range(3)]

    response = await client.post("/v1/admin/replay", json={"status": "dead"}, headers=OPERATOR)

    assert response.json() == {"dryRun": False, "count": 2, "limit": 2, "more": True}
    statuses = [(await _detail(client, m))["message"]["status"] for m in dead]
    assert statuses == ["dead", "queued", "queued"]  # newest first


async def _erase(client: Client, user_id: str) -> None:
    response = await client.request("DELETE", f"/v1/admin/users/{user_id}/personal-data", headers=OPERATOR)
    assert response.status_code == 200, response.text


async def test_a_message_whose_personal_data_was_erased_is_not_replayed(app: Litestar, client: Client) -> None:
    dead = await send_dead(app, client)
    await _erase(client, SEED_BODY["userId"])

    response = await client.post(f"/v1/admin/messages/{dead}/replay", headers=OPERATOR)

    assert response.status_code == 409
    assert "personal data was erased" in response.json()["detail"]
    assert (await _detail(client, dead))["message"]["status"] == "dead"
    assert [entry["action"] for entry in await _audit(client)] == ["erase"]


async def test_bulk_replay_skips_messages_whose_personal_data_was_erased(app: Litestar, client: Client) -> None:
    erased = await send_dead(app, client, dispatchId="d-erased")
    await _erase(client, SEED_BODY["userId"])
    kept = await send_dead(app, client, dispatchId="d-kept")
    body = {"status": "dead"}

    dry = await client.post("/v1/admin/replay", json=body | {"dryRun": True}, headers=OPERATOR)
    done = await client.post("/v1/admin/replay", json=body, headers=OPERATOR)

    assert dry.json()["count"] == 1
    assert done.json()["count"] == 1
    assert (await _detail(client, erased))["message"]["status"] == "dead"
    assert (await _detail(client, kept))["message"]["status"] == "queued"


async def test_erased_messages_do_not_hide_a_bulk_replays_more(
    app: Litestar, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(support, "REPLAY_LIMIT", 2)
    kept = [await send_dead(app, client, userId="u-kept", dispatchId=f"d-{n}") for n in range(3)]
    for n in range(3):
        await send_dead(app, client, dispatchId=f"d-erased-{n}")
    await _erase(client, SEED_BODY["userId"])

    response = await client.post("/v1/admin/replay", json={"status": "dead"}, headers=OPERATOR)

    assert response.json() == {"dryRun": False, "count": 2, "limit": 2, "more": True}
    assert [(await _detail(client, m))["message"]["status"] for m in kept] == ["dead", "queued", "queued"]


async def test_bulk_replay_without_a_status_leaves_what_reached_the_user_alone(app: Litestar, client: Client) -> None:
    now = app.state.clock()
    ids = {name: await send_delivered(app, client, dispatchId=f"d-{name}") for name in ("delivered", "fallback")}
    for name, message_id in ids.items():
        await app.state.store.transition(message_id, Status(name), "test: settled", now=now)
    ids["dead"] = await send_dead(app, client, dispatchId="d-dead")
    body = {"campaignId": SEED_BODY["campaignId"]}

    dry = await client.post("/v1/admin/replay", json=body | {"dryRun": True}, headers=OPERATOR)
    done = await client.post("/v1/admin/replay", json=body, headers=OPERATOR)

    assert (dry.json()["count"], done.json()["count"]) == (1, 1)
    statuses = {name: (await _detail(client, m))["message"]["status"] for name, m in ids.items()}
    assert statuses == {"delivered": "delivered", "fallback": "fallback", "dead": "queued"}


@pytest.mark.parametrize("status", ["delivered", "fallback"])
async def test_bulk_replay_of_an_explicit_delivered_or_fallback_status_still_replays(
    app: Litestar, client: Client, status: str
) -> None:
    message_id = await send_delivered(app, client)
    await app.state.store.transition(message_id, Status(status), "test: settled", now=app.state.clock())

    response = await client.post("/v1/admin/replay", json={"status": status}, headers=OPERATOR)

    assert response.json()["count"] == 1
    assert (await _detail(client, message_id))["message"]["status"] == "queued"


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"userID": "u-1"}, ["userID"]),
        ({"status": "queued"}, ["status"]),
        ({"status": "sent", "dryRun": "yes"}, ["dryRun"]),
        ({"userId": 7}, ["userId"]),
    ],
)
async def test_a_bulk_replay_with_a_bad_filter_is_a_400(
    client: Client, body: dict[str, Any], fields: list[str]
) -> None:
    response = await client.post("/v1/admin/replay", json=body, headers=OPERATOR)

    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == fields


async def test_a_bulk_replay_without_any_filter_is_refused(client: Client) -> None:
    response = await client.post("/v1/admin/replay", json={"dryRun": True}, headers=OPERATOR)

    assert response.status_code == 400
    assert "at least one filter" in response.json()["detail"]


async def test_stats_count_the_window_by_state_channel_and_vendor(
    app: Litestar, client: Client, corpus: dict[str, str], clock: Clock
) -> None:
    clock.advance(1)  # the window ends now, exclusive
    response = await client.get("/v1/admin/stats", headers=staff_headers())
    later = await client.get("/v1/admin/stats", params={"from": _iso(clock.now - 61)}, headers=staff_headers())

    stats = response.json()
    assert stats["total"] == 4
    assert stats["byStatus"] == {"accepted": 3, "dead": 1}
    assert stats["byChannel"] == {"kakao": 2, "lms": 1, "email": 1}
    assert stats["byVendor"] == {"nhn": 2, "solapi": 1, "sendgrid": 1}
    [failure] = stats["failures"]
    assert (failure["vendor"], failure["code"], failure["count"]) == ("nhn", "-3006", 1)
    assert later.json()["total"] == 2


async def test_stats_with_a_bad_window_are_a_400(client: Client) -> None:
    response = await client.get(
        "/v1/admin/stats", params={"from": "2026-11-28", "to": "2026-11-27"}, headers=staff_headers()
    )

    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["to"]


async def test_erasure_removes_a_users_personal_data_and_keeps_the_statistics(
    client: Client, corpus: dict[str, str]
) -> None:
    before = (await client.get("/v1/admin/stats", headers=staff_headers())).json()

    response = await client.request("DELETE", f"/v1/admin/users/{SEED_BODY['userId']}/personal-data", headers=OPERATOR)

    assert response.status_code == 200
    assert response.json() == {"userId": SEED_BODY["userId"], "erased": 2}
    revealed = (await client.get(f"/v1/admin/messages/{corpus['kakao']}?reveal=true", headers=OPERATOR)).json()
    assert revealed["message"]["phone"] is None
    assert revealed["normalised"]["content"] == "[erased]"
    assert revealed["vendorRequest"]["body"] == "[erased]"
    assert revealed["message"]["status"] == "accepted"
    assert await _ids(client, phone="010-1234-5678") == set()
    assert await _ids(client, userId=SEED_BODY["userId"]) == {corpus["kakao"], corpus["dead"]}
    after = (await client.get("/v1/admin/stats", headers=staff_headers())).json()
    assert after == before
    assert [(e["action"], e["target"], e["detail"]) for e in await _audit(client)][-1] == (
        "erase",
        SEED_BODY["userId"],
        "2 messages",
    )


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/admin/messages/m/replay"),
        ("POST", "/v1/admin/replay"),
        ("GET", "/v1/admin/audit"),
        ("DELETE", "/v1/admin/users/u-1/personal-data"),
    ],
)
async def test_operator_actions_are_401_without_a_token_and_403_for_a_viewer(
    client: Client, method: str, path: str
) -> None:
    assert (await client.request(method, path)).status_code == 401
    assert (await client.request(method, path, headers=ingest_headers())).status_code == 401
    assert (await client.request(method, path, headers=staff_headers())).status_code == 403


@pytest.mark.parametrize("path", ["/v1/admin/messages", "/v1/admin/stats", "/v1/admin/messages/m"])
async def test_reading_is_401_without_a_staff_token(client: Client, path: str) -> None:
    response = await client.get(path, headers={"Authorization": "Bearer wrong-token-123"})

    assert response.status_code == 401
    assert response.json()["detail"] == "Send Authorization: Bearer <staff token>."


async def test_admin_answers_are_never_cached_not_even_problems(client: Client, corpus: dict[str, str]) -> None:
    revealed = await client.get(f"/v1/admin/messages/{corpus['kakao']}?reveal=true", headers=OPERATOR)
    answers = [
        revealed,
        await client.get("/v1/admin/messages", params={"phone": "010-1234-5678"}, headers=OPERATOR),
        await client.get("/v1/admin/audit", headers=OPERATOR),
        await client.get("/v1/admin/messages/nope?reveal=true", headers=OPERATOR),
        await client.get("/v1/admin/messages", params={"status": "sent"}, headers=OPERATOR),
        await client.get("/v1/admin/audit"),
    ]

    assert [answer.status_code for answer in answers] == [200, 200, 200, 404, 400, 401]
    assert revealed.json()["message"]["phone"] == "01012345678"
    assert [answer.headers.get("cache-control") for answer in answers] == ["no-store"] * len(answers)
