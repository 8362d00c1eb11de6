"""The dry-run preview of ``POST /v1/braze/messages`` (issue 12) through the real HTTP app, for every vendor."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from gateway.app import create_app
from tests.conftest import (
    EMAIL_BODY,
    LMS_BODY,
    REAL_NHN,
    SEED_BODY,
    Clock,
    ingest_headers,
    make_settings,
    staff_headers,
)

URL = "/v1/braze/messages"
Client = AsyncTestClient[Litestar]
#: 22:30 KST: inside both quiet windows.
NIGHT_KST = datetime(2026, 11, 27, 13, 30, tzinfo=UTC).timestamp()
#: What each (vendor, channel) posts to (a part of the URL only it has).
ENDPOINTS = {
    ("nhn", "kakao"): "/freestyle-messages",
    ("solapi", "kakao"): "/messages/v4/send",
    ("nhn", "lms"): "/sender/mms",
    ("solapi", "lms"): "/messages/v4/send",
    ("sendgrid", "email"): "/v3/mail/send",
    ("nhn", "email"): "/sender/mail",
}


async def _messages(app: Litestar) -> int:
    return sum((await app.state.store.count_by_status()).values())


async def _preview(client: Client, body: dict[str, Any], **headers: str) -> dict[str, Any]:
    response = await client.post(URL, json=body, headers=ingest_headers(**headers))
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


@pytest.mark.parametrize(
    ("vendor", "body"),
    [
        ("nhn", SEED_BODY),
        ("solapi", SEED_BODY),
        ("nhn", LMS_BODY),
        ("solapi", LMS_BODY),
        ("sendgrid", EMAIL_BODY),
        ("nhn", EMAIL_BODY),
    ],
)
async def test_every_vendor_previews_the_request_its_adapter_builds_masked_and_stores_nothing(
    tmp_path: Path, vendor: str, body: dict[str, Any]
) -> None:
    channel = body["channel"]
    app = create_app(make_settings(tmp_path), clock=Clock(), start_dispatcher=False)
    async with AsyncTestClient(app) as client:
        response = await client.post(URL, json={**body, "vendor": vendor, "dryRun": "true"}, headers=ingest_headers())
        text = response.text
        answer = response.json()
        stored = await _messages(app)

    assert response.status_code == 200, text
    assert (answer["dryRun"], answer["channel"], answer["vendor"], answer["sandbox"]) == (True, channel, vendor, True)
    request = answer["vendorRequest"]
    assert request["method"] == "POST"
    assert ENDPOINTS[(vendor, channel)] in request["url"]
    assert "[redacted]" in request["headers"].values()
    assert request["body"]
    # The phone number and the email appear nowhere unmasked: not in the request body, not in the normalised form.
    assert "01012345678" not in text
    assert "01098765432" not in text
    assert "jane@example.com" not in text
    assert ("010-****-" in text) if channel != "email" else ("j***@example.com" in text)
    assert answer["normalised"]["channel"] == channel
    # The admin API's shape: the ingest body's camelCase keys.
    assert answer["normalised"]["userId"]
    assert "user_id" not in answer["normalised"]
    assert answer["checks"]
    assert all(check["ok"] for check in answer["checks"])
    assert answer["schedule"]["action"] == "send"
    assert stored == 0


async def test_real_credentials_are_redacted_in_the_preview(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path, **REAL_NHN), clock=Clock(), start_dispatcher=False)
    async with AsyncTestClient(app) as client:
        answers = [await _preview(client, {**body, "dryRun": True}) for body in (SEED_BODY, LMS_BODY, EMAIL_BODY)]

    for answer, secret in zip(answers, ("kakao-secret", "sms-secret", "SG.key"), strict=True):
        assert answer["sandbox"] is False
        assert secret not in str(answer)
        assert "[redacted]" in answer["vendorRequest"]["headers"].values()
    # The body as it would be sent, with the sender values the real configuration gives.
    assert answers[1]["vendorRequest"]["body"]["sendNo"] == "0212345678"
    assert answers[1]["vendorRequest"]["body"]["title"] == LMS_BODY["subject"]


async def test_a_dry_run_is_not_counted_for_idempotency(client: Client, app: Litestar) -> None:
    preview = await client.post(URL, json={**SEED_BODY, "dryRun": "true"}, headers=ingest_headers())
    again = await client.post(URL, json={**SEED_BODY, "dryRun": "true"}, headers=ingest_headers())
    assert (preview.status_code, again.status_code) == (200, 200)
    assert await _messages(app) == 0

    real = await client.post(URL, json=SEED_BODY, headers=ingest_headers())
    repeat = await client.post(URL, json=SEED_BODY, headers=ingest_headers())
    assert (real.status_code, real.json()["duplicate"]) == (202, False)
    assert (repeat.status_code, repeat.json()["duplicate"]) == (200, True)
    assert await _messages(app) == 1


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        ({**SEED_BODY, "dryRun": True}, {}),
        ({**SEED_BODY, "dryRun": "Y"}, {}),
        (SEED_BODY, {"Dry-Run": "true"}),
    ],
)
async def test_the_dry_run_is_asked_by_a_boolean_a_braze_string_or_the_header(
    client: Client, app: Litestar, body: dict[str, Any], headers: dict[str, str]
) -> None:
    answer = await _preview(client, body, **headers)
    assert answer["dryRun"] is True
    assert await _messages(app) == 0


async def test_a_form_encoded_dry_run(client: Client, app: Litestar) -> None:
    form = urlencode({**LMS_BODY, "dryRun": "true"})
    response = await client.post(
        URL, content=form, headers=ingest_headers(**{"Content-Type": "application/x-www-form-urlencoded"})
    )
    assert response.status_code == 200, response.text
    assert response.json()["channel"] == "lms"
    assert await _messages(app) == 0


async def test_an_invalid_body_answers_the_same_422_with_or_without_dry_run(client: Client, app: Litestar) -> None:
    bad = {**SEED_BODY, "phone": "12345", "content": "{{ first_name }}님"}
    real = await client.post(URL, json=bad, headers=ingest_headers())
    dry = await client.post(URL, json={**bad, "dryRun": "true"}, headers=ingest_headers())
    header = await client.post(URL, json=bad, headers=ingest_headers(**{"Dry-Run": "true"}))

    assert real.status_code == dry.status_code == header.status_code == 422
    assert real.json() == dry.json() == header.json()
    assert {error["field"] for error in dry.json()["errors"]} == {"phone", "content"}
    assert await _messages(app) == 0


async def test_a_dry_run_value_that_is_not_yes_or_no_is_refused_not_sent(client: Client, app: Litestar) -> None:
    response = await client.post(URL, json={**SEED_BODY, "dryRun": "maybe"}, headers=ingest_headers())
    header = await client.post(URL, json=SEED_BODY, headers=ingest_headers(**{"Dry-Run": "perhaps"}))

    assert response.status_code == header.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == ["dryRun"]
    assert [error["field"] for error in header.json()["errors"]] == ["Dry-Run"]
    assert await _messages(app) == 0


async def test_a_dry_run_needs_the_ingest_token(client: Client) -> None:
    response = await client.post(URL, json={**SEED_BODY, "dryRun": "true"})
    assert response.status_code == 401


async def test_checks_measure_the_final_message(client: Client) -> None:
    kakao = await _preview(client, {**SEED_BODY, "content": "가나다\n라마", "dryRun": "true"})
    lms = await _preview(client, {**LMS_BODY, "subject": "제목 A", "content": "가" * 100, "dryRun": "true"})

    measured = {(c["name"], c["unit"]): (c["value"], c["limit"]) for c in kakao["checks"]}
    assert measured[("content", "characters")] == (6, 1300)
    assert measured[("content", "line breaks")] == (1, 99)
    assert measured[("buttons", "buttons")] == (1, 5)
    assert measured[("button 1 name", "characters")] == (7, 14)
    bytes_ = {c["name"]: (c["value"], c["limit"]) for c in lms["checks"]}
    assert bytes_ == {"subject": (6, 40), "content": (200, 2000)}


async def test_changes_say_what_normalisation_did(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, GATEWAY_UTM_SOURCE="braze")
    app = create_app(settings, clock=Clock(), start_dispatcher=False)
    body = {
        **SEED_BODY,
        "content": "서포터님,\\n지금 확인해 보세요 &amp; 공유하세요",
        "buttonName": "",
        "buttonLinkMobile": "www.wadiz.kr/web/campaign/detail/356850",
        "buttonLinkPC": "",
        "dryRun": "true",
    }
    async with AsyncTestClient(app) as client:
        kakao = await _preview(client, body)
        lms = await _preview(client, {**LMS_BODY, "ad": "true", "content": "추천 🎉 프로젝트", "dryRun": "true"})

    changes = {(c["field"], c["change"]) for c in kakao["changes"]}
    assert ("content", "typed \\n turned into line breaks") in changes
    assert ("content", "HTML entities such as &amp; written as characters") in changes
    assert ("buttonName", "no name given: the default name used") in changes
    assert ("buttonLinkPC", "not given: the buttonLinkMobile link serves both") in changes
    link = next(c for c in kakao["changes"] if c["field"] == "buttonLinkMobile")
    assert link["change"] == "link rewritten: https:// added, UTM parameters added"
    assert link["before"] == "www.wadiz.kr/web/campaign/detail/356850"
    assert link["after"].startswith("https://www.wadiz.kr/web/campaign/detail/356850?utm_source=braze")
    lms_changes = [c["change"] for c in lms["changes"]]
    assert "advertising prefix added" in lms_changes
    assert "opt-out line added" in lms_changes
    assert any("removed 1 character(s) the carriers cannot carry" in change for change in lms_changes)
    assert lms["normalised"]["content"].startswith("(광고)")
    assert lms["vendorRequest"]["url"].endswith("/sender/ad-mms")


async def test_a_kakao_preview_shows_the_lms_it_would_fall_back_to(client: Client) -> None:
    answer = await _preview(client, {**SEED_BODY, "dryRun": "true"})
    fallback = answer["fallback"]
    assert (fallback["channel"], fallback["vendor"]) == ("lms", "nhn")
    assert "지금 확인하기: https://www.wadiz.kr/web/campaign/detail/356850" in fallback["normalised"]["content"]
    assert fallback["vendorRequest"]["body"]["recipientList"][0]["recipientNo"] == "010-****-5678"
    assert (await _preview(client, {**SEED_BODY, "fallback": "none", "dryRun": "true"}))["fallback"] is None


async def test_schedule_at_night_holds_kakao_and_ad_lms_until_eight_kst(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path), clock=Clock(NIGHT_KST), start_dispatcher=False)
    async with AsyncTestClient(app) as client:
        kakao = await _preview(client, {**SEED_BODY, "dryRun": "true"})
        lms = await _preview(client, {**LMS_BODY, "ad": "false", "dryRun": "true"})
        email = await _preview(client, {**EMAIL_BODY, "dryRun": "true"})

    assert kakao["schedule"]["action"] == "hold"
    assert kakao["schedule"]["atKst"] == "2026-11-28 08:00 KST"
    assert kakao["schedule"]["at"] == "2026-11-27T23:00:00Z"
    assert "20:50–08:00 KST" in kakao["schedule"]["reason"]
    assert lms["schedule"]["action"] == email["schedule"]["action"] == "send"


async def test_schedule_at_night_says_suppressed_when_so_configured(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, GATEWAY_QUIET_HOURS="suppress")
    app = create_app(settings, clock=Clock(NIGHT_KST), start_dispatcher=False)
    async with AsyncTestClient(app) as client:
        answer = await _preview(client, {**LMS_BODY, "ad": "true", "dryRun": "true"})
    assert answer["schedule"]["action"] == "suppress"
    assert "21:00–08:00 KST" in answer["schedule"]["reason"]


async def test_the_openapi_document_describes_the_preview(client: Client) -> None:
    schema = (await client.get("/schema/openapi.json", headers=staff_headers())).json()
    operation = schema["paths"][URL]["post"]
    assert [(p["name"], p["in"]) for p in operation["parameters"]] == [("Dry-Run", "header")]
    assert "dryRun" in operation["requestBody"]["content"]["application/json"]["schema"]["properties"]
    ok = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert {"$ref": "#/components/schemas/PreviewAnswer"} in ok["oneOf"]
    preview = schema["components"]["schemas"]["PreviewAnswer"]
    assert {"vendorRequest", "checks", "changes", "schedule"} <= set(preview["required"])


async def test_the_preview_names_keys_not_read_but_not_dry_run_itself(client: Client, app: Litestar) -> None:
    answer = await _preview(client, {**SEED_BODY, "butonName": "오타", "dryRun": "true"})
    real = await client.post(URL, json={**SEED_BODY, "dryRun": "false"}, headers=ingest_headers())

    assert [field["field"] for field in answer["ignoredFields"]] == ["butonName"]
    assert real.status_code == 202
    assert real.json()["ignoredFields"] == []
    assert await _messages(app) == 1


@pytest.mark.parametrize(
    ("vendor", "endpoint", "opt_out"),
    [("nhn", "/sender/ad-mail", "##EN_BLOCK_RECEIVER_LINK##"), ("sendgrid", "/v3/mail/send", "subscription_tracking")],
)
async def test_an_advertising_email_preview_shows_the_mark_the_opt_out_link_and_no_quiet_hours(
    tmp_path: Path, vendor: str, endpoint: str, opt_out: str
) -> None:
    app = create_app(make_settings(tmp_path), clock=Clock(NIGHT_KST), start_dispatcher=False)
    async with AsyncTestClient(app) as client:
        answer = await _preview(client, {**EMAIL_BODY, "ad": "true", "vendor": vendor, "dryRun": "true"})

    request = answer["vendorRequest"]
    assert request["url"].endswith(endpoint)
    assert opt_out in str(request["body"])
    assert answer["normalised"]["subject"] == "(광고) 이번 주 추천 프로젝트"
    assert "email: (광고) put at the start of the advertising subject" in [c["change"] for c in answer["changes"]]
    assert answer["schedule"]["action"] == "send"


async def test_an_nhn_kakao_preview_tells_nhn_not_to_fall_back_itself(client: Client) -> None:
    answer = await _preview(client, {**SEED_BODY, "dryRun": "true"})

    [recipient] = answer["vendorRequest"]["body"]["recipientList"]
    assert recipient["resendParameter"] == {"isResend": False}


@pytest.mark.parametrize(("vendor", "field"), [("nhn", "imageUrl"), ("solapi", "imageId")])
async def test_a_kakao_image_previews_as_the_vendors_upload_to_come_fetching_nothing(
    tmp_path: Path, vendor: str, field: str
) -> None:
    image = "https://cdn.example.com/projects/42.jpg"
    app = create_app(make_settings(tmp_path), clock=Clock(), start_dispatcher=False)
    async with AsyncTestClient(app) as client:
        answer = await _preview(client, {**SEED_BODY, "vendor": vendor, "imageUrl": image, "dryRun": True})

    sent = answer["vendorRequest"]["body"]
    found = sent["image"][field] if vendor == "nhn" else sent["messages"][0]["kakaoOptions"]["bms"][field]
    assert found == f"<{vendor}'s copy of {image}, uploaded when sent>"
    assert answer["normalised"]["imageUrl"] == image
