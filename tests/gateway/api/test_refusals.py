"""Refused ingests (issue 11): kept with their errors, ids and masked body, searchable, counted, logged, erased."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from prometheus_client import REGISTRY

from gateway.app import create_app
from tests.conftest import OPERATOR_TOKEN, SEED_BODY, Clock, ingest_headers, make_settings, staff_headers
from tests.gateway.api.messages import Client

URL = "/v1/braze/messages"
NO_PHONE = SEED_BODY | {"phone": "", "sendId": "s-1", "canvasId": "cv-1"}


async def _refusals(client: Client, **params: str) -> list[dict[str, Any]]:
    response = await client.get("/v1/admin/refusals", params=params, headers=staff_headers())
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_a_422_is_kept_with_its_errors_braze_ids_and_user_and_no_message_is_stored(
    client: Client, app: Litestar
) -> None:
    answer = await client.post(URL, json=NO_PHONE, headers=ingest_headers())
    assert answer.status_code == 422

    (refusal,) = await _refusals(client, userId=SEED_BODY["userId"])
    assert refusal["httpStatus"] == 422
    assert refusal["detail"] == "1 field is invalid."
    assert refusal["errors"] == answer.json()["errors"]
    ids = {key: refusal[key] for key in ("campaignId", "dispatchId", "canvasId", "sendId", "channel")}
    assert ids == {
        "campaignId": "c1a2b3",
        "dispatchId": "d-7f3e",
        "canvasId": "cv-1",
        "sendId": "s-1",
        "channel": "kakao",
    }
    assert await app.state.store.count_by_status() == {}


async def test_the_kept_body_has_phone_numbers_and_emails_masked_everywhere(client: Client) -> None:
    body = SEED_BODY | {"content": "문의 010-9876-5432 또는 jane@example.com {{ name }}", "email": "bo@example.com"}
    await client.post(URL, json=body, headers=ingest_headers())

    (summary,) = await _refusals(client, phone="01012345678")
    assert summary["phone"] == "010-****-5678"
    response = await client.get(f"/v1/admin/refusals/{summary['refusalId']}", headers=staff_headers(OPERATOR_TOKEN))
    detail = response.json()
    kept = msgspec.json.decode(detail["body"])
    assert kept["phone"] == "010-****-5678"
    assert kept["email"] == "b***@example.com"
    assert kept["content"] == "문의 010-****-5432 또는 j***@example.com {{ name }}"
    for secret in ("1234-5678", "9876-5432", "jane@", "bo@"):
        assert secret not in response.text
    assert detail["contentType"] == "application/json"


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        (b'{"channel": ', "application/json", 400),
        (b"[1, 2]", "application/json", 400),
        (b"channel=kakao", "text/plain", 415),
        (msgspec.json.encode(SEED_BODY), "application/x-www-form-urlencoded", 415),
    ],
)
async def test_malformed_and_unsupported_bodies_are_kept(
    client: Client, content: bytes, content_type: str, status: int
) -> None:
    answer = await client.post(URL, content=content, headers=ingest_headers(**{"Content-Type": content_type}))
    assert answer.status_code == status
    (refusal,) = await _refusals(client)
    assert (refusal["httpStatus"], refusal["detail"]) == (status, answer.json()["detail"])


async def test_a_body_over_the_limit_is_kept_without_its_body(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path, GATEWAY_MAX_BODY_BYTES="1024"), start_dispatcher=False)
    async with AsyncTestClient(app) as client:
        body = SEED_BODY | {"content": "가" * 2000}
        assert (await client.post(URL, json=body, headers=ingest_headers())).status_code == 413
        (refusal,) = await _refusals(client)
        detail = (await client.get(f"/v1/admin/refusals/{refusal['refusalId']}", headers=staff_headers())).json()
    assert detail["httpStatus"] == 413
    assert detail["body"] == "[not kept: larger than the gateway accepts]"


async def test_a_401_is_counted_and_logged_but_not_kept(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    before = REGISTRY.get_sample_value("gateway_ingest_refused_total", {"http_status": "401"}) or 0.0
    with caplog.at_level(logging.INFO, logger="gateway.events"):
        answer = await client.post(URL, json=SEED_BODY, headers={"Authorization": "Bearer wrong"})
    assert answer.status_code == 401
    assert await _refusals(client) == []
    assert REGISTRY.get_sample_value("gateway_ingest_refused_total", {"http_status": "401"}) == before + 1
    (event,) = [r for r in caplog.records if r.name == "gateway.events"]
    assert (event.getMessage(), event.levelname) == ("ingest.unauthorised", "WARNING")


async def test_a_refusal_is_logged_with_its_field_names_only(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="gateway.events"):
        await client.post(URL, json=NO_PHONE, headers=ingest_headers())
    (event,) = [r for r in caplog.records if r.getMessage() == "ingest.refused"]
    assert event.levelname == "WARNING"
    assert (event.http_status, event.fields) == (422, ["phone"])  # type: ignore[attr-defined]
    assert REGISTRY.get_sample_value("gateway_ingest_refused_total", {"http_status": "422"})


async def test_refusals_are_counted_in_the_stats(client: Client, clock: Clock) -> None:
    await client.post(URL, json=NO_PHONE, headers=ingest_headers())
    await client.post(URL, json=SEED_BODY, headers=ingest_headers())
    clock.advance(1)
    stats = (await client.get("/v1/admin/stats", headers=staff_headers())).json()
    assert (stats["refused"], stats["total"]) == (1, 1)


async def test_erasing_a_user_erases_the_body_of_their_refusals(client: Client) -> None:
    await client.post(URL, json=NO_PHONE | {"email": "jane@example.com"}, headers=ingest_headers())
    erased = await client.delete(
        f"/v1/admin/users/{SEED_BODY['userId']}/personal-data", headers=staff_headers(OPERATOR_TOKEN)
    )
    assert erased.status_code == 200
    (refusal,) = await _refusals(client, userId=SEED_BODY["userId"])
    detail = (await client.get(f"/v1/admin/refusals/{refusal['refusalId']}", headers=staff_headers())).json()
    assert detail["body"] == "[erased]"


async def test_status_refused_on_the_message_search_points_to_the_refusals(client: Client) -> None:
    response = await client.get("/v1/admin/messages", params={"status": "refused"}, headers=staff_headers())
    assert response.status_code == 400
    assert "GET /v1/admin/refusals" in response.json()["errors"][0]["message"]


async def test_an_unknown_refusal_is_404_and_a_bad_filter_400(client: Client) -> None:
    assert (await client.get("/v1/admin/refusals/nope", headers=staff_headers())).status_code == 404
    bad = await client.get("/v1/admin/refusals", params={"from": "yesterday"}, headers=staff_headers())
    assert (bad.status_code, bad.json()["errors"][0]["field"]) == (400, "from")
    assert (await client.get("/v1/admin/refusals")).status_code == 401


async def test_hostile_refused_bodies_are_kept_on_postgresql_too(tmp_path: Path, postgres_url: str) -> None:
    app = create_app(make_settings(tmp_path, GATEWAY_DATABASE_URL=postgres_url), start_dispatcher=False)
    bodies = [
        b'{"channel": "kakao", "userId": "u-\\u0000-1", "content": "\\u0000", "phone": ""}',
        b'{"channel": "kakao", "userId": "u-3", "content": "\\ud800"}',
        b'{"channel": "kakao", "userId": "u-2", "content": "\x00 \xff',
    ]
    async with AsyncTestClient(app) as client:
        statuses = [
            (
                await client.post(URL, content=body, headers=ingest_headers(**{"Content-Type": "application/json"}))
            ).status_code
            for body in bodies
        ]
        kept = await _refusals(client)
    assert statuses == [422, 400, 400]
    assert sorted(refusal["httpStatus"] for refusal in kept) == [400, 400, 422]
    assert {refusal["userId"] for refusal in kept} == {"u--1", None}
