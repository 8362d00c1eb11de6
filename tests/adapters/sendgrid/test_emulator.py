from __future__ import annotations

from typing import Any

import httpx
import msgspec
import pytest

from adapters.emulator import EmulatorTransport, Fault
from adapters.sendgrid.adapter import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature
from adapters.sendgrid.config import SendGridConfig
from adapters.sendgrid.emulator import SendGridEmulator

CONFIG = SendGridConfig(api_key="SG.key.secret", from_email="no-reply@wadiz.kr")
NOW = 1_750_000_000.0
URL = "https://api.sendgrid.com/v3/mail/send"


@pytest.fixture
def emulator() -> SendGridEmulator:
    return SendGridEmulator(CONFIG, clock=lambda: NOW)


def mail(**changes: Any) -> dict[str, Any]:
    body = {
        "personalizations": [{"to": [{"email": "supporter@example.com"}], "custom_args": {"gateway_id": "gw-1"}}],
        "from": {"email": "no-reply@wadiz.kr", "name": "와디즈"},
        "subject": "제목",
        "content": [{"type": "text/plain", "value": "본문"}, {"type": "text/html", "value": "<p>본문</p>"}],
    }
    return {**body, **changes}


async def post(
    emulator: SendGridEmulator,
    body: dict[str, Any] | None = None,
    *,
    key: str | None = CONFIG.api_key,
    content: bytes | None = None,
    content_type: str = "application/json",
    url: str = URL,
) -> httpx.Response:
    headers = {"Content-Type": content_type}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    payload = content if content is not None else msgspec.json.encode(mail() if body is None else body)
    async with httpx.AsyncClient(transport=EmulatorTransport([emulator])) as client:
        return await client.post(url, content=payload, headers=headers)


def fields(response: httpx.Response) -> list[str | None]:
    return [error["field"] for error in response.json()["errors"]]


async def test_a_valid_mail_is_queued_with_202_and_a_message_id(emulator: SendGridEmulator) -> None:
    response = await post(emulator)

    assert response.status_code == 202
    assert response.content == b""
    assert len(response.headers["X-Message-Id"]) == 22


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (None, "authorization required"),
        ("SG.wrong", "The provided authorization grant is invalid, expired, or revoked"),
    ],
)
async def test_missing_or_wrong_key_is_401(emulator: SendGridEmulator, key: str | None, message: str) -> None:
    response = await post(emulator, key=key)

    assert response.status_code == 401
    assert response.json() == {"errors": [{"message": message, "field": None, "help": None}]}


async def test_an_unverified_sender_is_403(emulator: SendGridEmulator) -> None:
    response = await post(emulator, mail(**{"from": {"email": "someone@else.kr"}}))

    assert response.status_code == 403
    assert fields(response) == ["from"]
    assert "verified Sender Identity" in response.json()["errors"][0]["message"]


async def test_a_body_over_30_mb_is_413(emulator: SendGridEmulator) -> None:
    response = await post(emulator, content=b" " * (30 * 1024 * 1024 + 1))

    assert response.status_code == 413


async def test_other_content_types_are_refused(emulator: SendGridEmulator) -> None:
    response = await post(emulator, content_type="text/plain")

    assert response.status_code == 415


async def test_unknown_path_is_404(emulator: SendGridEmulator) -> None:
    response = await post(emulator, url="https://api.sendgrid.com/v3/mail/batch")

    assert response.status_code == 404


async def test_unparseable_json_is_400(emulator: SendGridEmulator) -> None:
    response = await post(emulator, content=b"{not json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == "Bad Request"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (mail(personalizations=[]), "personalizations"),
        (mail(personalizations=[{"to": []}]), "personalizations.0.to"),
        (mail(personalizations=[{"to": [{"email": "not-an-address"}]}]), "personalizations.0.to.0.email"),
        (
            mail(personalizations=[{"to": [{"email": "a@b.kr"}], "custom_args": {"n": 1}}]),
            "personalizations.0.custom_args",
        ),
        (
            mail(personalizations=[{"to": [{"email": "a@b.kr"}], "custom_args": {"x": "y" * 10_001}}]),
            "personalizations.0.custom_args",
        ),
        (mail(personalizations=[{"to": [{"email": f"u{i}@b.kr"} for i in range(1001)]}]), "personalizations"),
        (mail(personalizations=[{"to": [{"email": f"u{i}@b.kr"}]} for i in range(1001)]), "personalizations"),
        (mail(personalizations=[{"to": [{"email": "a@b.kr"}]}, {"to": [{"email": "A@b.kr"}]}]), "personalizations"),
        (mail(custom_args="x"), "custom_args"),
        (mail(**{"from": {"name": "no address"}}), "from.email"),
        (mail(subject=""), "subject"),
        (mail(content=[]), "content"),
        (mail(content=[{"type": "text/html", "value": ""}]), "content.0.value"),
        (mail(content=[{"type": "text/html", "value": "<p>x</p>"}, {"type": "text/plain", "value": "x"}]), "content"),
    ],
)
async def test_invalid_bodies_are_400_naming_the_field(
    emulator: SendGridEmulator, body: dict[str, Any], field: str
) -> None:
    response = await post(emulator, body)

    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["field"] == field
    assert error["message"]
    assert error["help"].startswith("http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html#message.")


async def test_every_error_is_reported_at_once(emulator: SendGridEmulator) -> None:
    response = await post(emulator, mail(subject=None, content=None, **{"from": {}}))

    assert fields(response) == ["from.email", "subject", "content"]


async def test_refused_mail_yields_no_events(emulator: SendGridEmulator) -> None:
    await post(emulator, mail(subject=""))

    assert emulator.pending_callbacks() == []


async def test_scripted_429_states_the_reset_time_like_sendgrid(emulator: SendGridEmulator) -> None:
    emulator.script(Fault(http_status=429, retry_after=30))

    response = await post(emulator)

    assert response.status_code == 429
    assert response.headers["X-RateLimit-Reset"] == str(int(NOW) + 30)
    assert response.headers["X-RateLimit-Remaining"] == "0"
    assert "Retry-After" not in response.headers
    assert response.json()["errors"][0]["message"] == "too many requests"


async def test_scripted_429_without_a_wait_resets_in_a_second(emulator: SendGridEmulator) -> None:
    emulator.script(Fault(http_status=429))

    response = await post(emulator)

    assert response.headers["X-RateLimit-Reset"] == str(int(NOW) + 1)


@pytest.mark.parametrize(("status", "message"), [(500, "internal server error"), (503, "service unavailable")])
async def test_scripted_server_errors_use_sendgrid_error_shape(
    emulator: SendGridEmulator, status: int, message: str
) -> None:
    emulator.script(Fault(http_status=status))

    response = await post(emulator)

    assert response.status_code == status
    assert response.json() == {"errors": [{"message": message, "field": None, "help": None}]}


async def test_scripted_vendor_code_becomes_a_400_about_that_field(emulator: SendGridEmulator) -> None:
    emulator.script(Fault(vendor_code="subject"))

    response = await post(emulator)

    assert response.status_code == 400
    assert fields(response) == ["subject"]


async def test_events_are_signed_and_verifiable_with_the_public_key(emulator: SendGridEmulator) -> None:
    await post(emulator)

    (callback,) = emulator.pending_callbacks()

    assert callback.path == "sendgrid"
    assert callback.headers["Content-Type"] == "application/json"
    assert callback.headers[TIMESTAMP_HEADER] == str(int(NOW))
    assert callback.body.endswith(b"]\r\n")
    signature = callback.headers[SIGNATURE_HEADER]
    assert verify_signature(emulator.public_key, signature, callback.headers[TIMESTAMP_HEADER], callback.body, now=NOW)
    assert not verify_signature(
        emulator.public_key, signature, callback.headers[TIMESTAMP_HEADER], callback.body + b" ", now=NOW
    )


async def test_events_carry_sendgrid_fields_and_flattened_custom_args(emulator: SendGridEmulator) -> None:
    response = await post(emulator)

    events = msgspec.json.decode(emulator.pending_callbacks()[0].body)

    assert [e["event"] for e in events] == ["processed", "delivered"]
    message_id = response.headers["X-Message-Id"]
    for e in events:
        assert e["sg_message_id"].startswith(message_id + ".filter")
        assert e["gateway_id"] == "gw-1"
        assert e["email"] == "supporter@example.com"
        assert e["timestamp"] == int(NOW)
        assert {"smtp-id", "sg_event_id"} <= set(e)
    assert events[0]["sg_event_id"] != events[1]["sg_event_id"]


@pytest.mark.parametrize(
    ("outcome", "final"),
    [
        ("deferred", {"event": "deferred", "attempt": "1"}),
        ("bounce", {"event": "bounce", "type": "bounce", "status": "5.1.1"}),
        ("blocked", {"event": "bounce", "type": "blocked", "status": "5.7.1"}),
        ("dropped", {"event": "dropped", "reason": "Bounced Address"}),
    ],
)
async def test_outcomes_choose_the_final_event(emulator: SendGridEmulator, outcome: str, final: dict[str, str]) -> None:
    emulator.outcomes["supporter@example.com"] = outcome
    await post(emulator)

    events = msgspec.json.decode(emulator.pending_callbacks()[0].body)

    assert events[-1].items() >= final.items()


async def test_each_recipient_gets_events_and_each_call_is_returned_once(emulator: SendGridEmulator) -> None:
    two = [{"to": [{"email": "a@example.com"}, {"email": "b@example.com"}], "custom_args": {"gateway_id": "g"}}]
    await post(emulator, mail(personalizations=two))

    (callback,) = emulator.pending_callbacks()

    assert [e["email"] for e in msgspec.json.decode(callback.body)] == ["a@example.com"] * 2 + ["b@example.com"] * 2
    assert emulator.pending_callbacks() == []


async def test_each_emulator_has_its_own_key(emulator: SendGridEmulator) -> None:
    await post(emulator)
    callback = emulator.pending_callbacks()[0]
    other = SendGridEmulator(CONFIG)

    headers = callback.headers
    assert not verify_signature(
        other.public_key, headers[SIGNATURE_HEADER], headers[TIMESTAMP_HEADER], callback.body, now=NOW
    )


async def test_reset_forgets_pending_events(emulator: SendGridEmulator) -> None:
    await post(emulator)

    emulator.reset()

    assert emulator.pending_callbacks() == []
