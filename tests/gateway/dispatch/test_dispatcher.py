"""The dispatcher through the real app: quiet hours, vendor switching, breaker, budget, crash recovery."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from adapters.emulator import Fault
from gateway.app import create_app
from gateway.models import Status
from gateway.store.base import StoreUnavailable
from tests.conftest import BRAZE, EMAIL_BODY, LMS_BODY, NIGHT_KST, SEED_BODY, Clock, ingest_headers, make_settings

URL = "/v1/braze/messages"
EMAIL_WITH_BUTTON = EMAIL_BODY | {
    "content": "<h1>추천</h1><p onclick='x()'>지금 확인해 보세요</p>",
    "buttonName": "보러 가기",
    "buttonLinkMobile": "https://www.wadiz.kr/web/campaign/detail/356850",
}


async def post(client: AsyncTestClient[Litestar], body: dict[str, Any]) -> str:
    response = await client.post(URL, json=body, headers=ingest_headers())
    assert response.status_code == 202, response.text
    return str(response.json()["messageId"])


async def status_of(app: Litestar, message_id: str) -> Status:
    detail = await app.state.store.get(message_id)
    return Status(detail.record.status)


@pytest.mark.parametrize(
    ("env", "body", "emulator"),
    [
        ({}, SEED_BODY, "nhn_kakao"),
        ({"GATEWAY_KAKAO_VENDOR": "solapi"}, SEED_BODY, "solapi"),
        ({}, LMS_BODY, "nhn_sms"),
        ({"GATEWAY_LMS_VENDOR": "solapi"}, LMS_BODY, "solapi"),
        ({}, EMAIL_WITH_BUTTON, "sendgrid"),
        ({"GATEWAY_EMAIL_VENDOR": "nhn"}, EMAIL_WITH_BUTTON, "nhn_email"),
    ],
)
async def test_every_vendor_delivers_in_sandbox_with_one_setting(
    tmp_path: Path, env: dict[str, str], body: dict[str, Any], emulator: str
) -> None:
    app = create_app(make_settings(tmp_path, **env), clock=Clock(), start_dispatcher=False)
    async with AsyncTestClient(app) as client:
        message_id = await post(client, body)
        assert await app.state.dispatcher.run_once() == 1
        detail = await app.state.store.get(message_id)
        assert detail.record.status is Status.ACCEPTED, detail.attempts
        assert len(app.state.runtime.emulators[emulator].requests) == 1


async def test_kakao_at_night_is_held_until_eight_then_sent(tmp_path: Path) -> None:
    clock = Clock(NIGHT_KST)
    app = create_app(make_settings(tmp_path), clock=clock, start_dispatcher=False)
    async with AsyncTestClient(app) as client:
        message_id = await post(client, SEED_BODY)
        await app.state.dispatcher.run_once()
        detail = await app.state.store.get(message_id)
        assert detail.record.status is Status.HELD
        assert "20:50–08:00 KST" in detail.events[-1].reason
        eight_kst = datetime(2026, 11, 27, 23, 0, tzinfo=UTC).timestamp()
        assert detail.record.next_attempt_at == eight_kst
        assert await app.state.dispatcher.run_once() == 0  # not before 08:00
        clock.now = eight_kst
        assert await app.state.dispatcher.run_once() == 1
        assert await status_of(app, message_id) is Status.ACCEPTED
        assert len(app.state.runtime.emulators["nhn_kakao"].requests) == 1


async def test_quiet_hours_suppress_mode(tmp_path: Path) -> None:
    app = create_app(
        make_settings(tmp_path, GATEWAY_QUIET_HOURS="suppress"), clock=Clock(NIGHT_KST), start_dispatcher=False
    )
    async with AsyncTestClient(app) as client:
        kakao = await post(client, SEED_BODY)
        ad_lms = await post(client, LMS_BODY | {"ad": "true"})
        plain_lms = await post(client, LMS_BODY | {"userId": "u-3"})
        await app.state.dispatcher.run_once()
        assert await status_of(app, kakao) is Status.SUPPRESSED
        assert await status_of(app, ad_lms) is Status.SUPPRESSED
        assert await status_of(app, plain_lms) is Status.ACCEPTED


async def test_transient_failures_are_rescheduled_until_the_budget_runs_out(tmp_path: Path) -> None:
    clock = Clock()
    app = create_app(make_settings(tmp_path, GATEWAY_RETRY_BUDGET="600"), clock=clock, start_dispatcher=False)
    async with AsyncTestClient(app) as client:
        emulator = app.state.runtime.emulators["nhn_kakao"]
        emulator.script(*[Fault(http_status=500)] * 30)
        message_id = await post(client, SEED_BODY)
        await app.state.dispatcher.run_once()
        detail = await app.state.store.get(message_id)
        assert detail.record.status is Status.RETRYING
        assert detail.record.next_attempt_at > clock.now
        for _ in range(10):
            clock.now = detail.record.next_attempt_at or clock.now
            await app.state.dispatcher.run_once()
            detail = await app.state.store.get(message_id)
            if detail.record.status is not Status.RETRYING:
                break
        assert detail.record.status is Status.DEAD
        assert "retries exhausted" in detail.events[-1].reason


async def test_retry_after_longer_than_a_few_seconds_goes_back_to_the_store(client: Any, app: Litestar) -> None:
    app.state.runtime.emulators["nhn_kakao"].script(Fault(http_status=429, retry_after=120))
    message_id = await post(client, SEED_BODY)
    await app.state.dispatcher.run_once()
    detail = await app.state.store.get(message_id)
    assert detail.record.status is Status.RETRYING
    assert len(detail.attempts) == 1
    assert detail.record.next_attempt_at - app.state.clock() >= 120


async def test_a_vendor_product_that_keeps_failing_is_paused_while_its_queue_waits(client: Any, app: Litestar) -> None:
    emulator = app.state.runtime.emulators["nhn_kakao"]
    emulator.script(*[Fault(http_status=503)] * 21)
    ids = [await post(client, SEED_BODY | {"dispatchId": f"d-{n}"}) for n in range(7)]
    await app.state.dispatcher.run_once()  # 7 messages x 3 attempts = 21 failures: the breaker opens
    calls = len(emulator.requests)
    for message_id in ids:
        await app.state.store.transition(
            message_id, Status.QUEUED, "test: due again", now=app.state.clock(), next_attempt_at=app.state.clock()
        )
    assert await app.state.dispatcher.run_once() == 0  # nhn kakao is paused: nothing is claimed
    assert len(emulator.requests) == calls
    email = await post(client, EMAIL_WITH_BUTTON)  # other vendors go on, and so do NHN's other products
    lms = await post(client, LMS_BODY)
    assert await app.state.dispatcher.run_once() == 2
    assert await status_of(app, email) is Status.ACCEPTED
    assert await status_of(app, lms) is Status.ACCEPTED


async def test_a_message_whose_worker_died_is_claimed_again_after_its_lease(client: Any, app: Litestar) -> None:
    message_id = await post(client, SEED_BODY)
    [claimed] = await app.state.store.claim(now=app.state.clock(), limit=10, lease=120.0)
    assert claimed.id == message_id  # a worker took it, then died before sending
    assert await app.state.dispatcher.run_once() == 0
    app.state.clock.advance(121)
    assert await app.state.dispatcher.run_once() == 1
    assert await status_of(app, message_id) is Status.ACCEPTED


async def test_permanent_kakao_failure_falls_back_to_lms(client: Any, app: Litestar) -> None:
    app.state.runtime.emulators["nhn_kakao"].script(Fault(vendor_code="-4019"))
    message_id = await post(client, SEED_BODY)
    await app.state.dispatcher.run_once()
    parent = await app.state.store.get(message_id)
    assert parent.record.status is Status.FALLBACK
    assert parent.record.vendor_request["url"].endswith("/freestyle-messages")  # what was refused stays visible
    child_id = parent.record.child_id
    assert child_id is not None
    await app.state.dispatcher.run_once()
    child = await app.state.store.get(child_id)
    assert child.record.parent_id == message_id
    assert child.record.status is Status.ACCEPTED
    assert child.record.message.channel == "lms"
    assert "🎉" not in child.record.message.content
    assert child.record.message.content.startswith("(광고)")
    assert "지금 확인하기: https://www.wadiz.kr/web/campaign/detail/356850" in child.record.message.content


async def test_a_message_for_a_vendor_no_longer_configured_is_dead_and_reported(tmp_path: Path) -> None:
    clock = Clock()
    settings = make_settings(tmp_path, **BRAZE)
    first = create_app(settings, clock=clock, start_dispatcher=False)
    async with AsyncTestClient(first) as client:
        message_id = await post(client, SEED_BODY | {"vendor": "solapi"})
    without_solapi = create_app(settings, clock=clock, start_dispatcher=False)
    async with AsyncTestClient(without_solapi):
        del without_solapi.state.runtime.adapters[("solapi", "kakao")]
        assert await without_solapi.state.dispatcher.run_once() == 1
        detail = await without_solapi.state.store.get(message_id)
        assert detail.record.status is Status.DEAD
        assert "solapi is not configured for kakao" in detail.events[-1].reason
        [reported] = await without_solapi.state.store.claim_feedback(now=clock(), limit=10, lease=60)
        assert (reported.record.id, reported.state) == (message_id, Status.DEAD)


def broken(error: type[Exception]) -> Any:
    """An adapter whose request building raises ``error``."""

    def build(*args: object, **kwargs: object) -> None:
        raise error("adapter bug")

    return type("Broken", (), {"build": staticmethod(build)})()


async def test_a_message_whose_processing_raises_past_its_budget_is_dead_and_reported(tmp_path: Path) -> None:
    clock = Clock()
    app = create_app(make_settings(tmp_path, GATEWAY_RETRY_BUDGET="10", **BRAZE), clock=clock, start_dispatcher=False)
    async with AsyncTestClient(app) as client:
        message_id = await post(client, SEED_BODY)

        app.state.runtime.adapters[("nhn", "kakao")] = broken(RuntimeError)
        await app.state.dispatcher.run_once()

        assert await status_of(app, message_id) is Status.DEAD
        [reported] = await app.state.store.claim_feedback(now=clock(), limit=10, lease=60)
        assert (reported.record.id, reported.state) == (message_id, Status.DEAD)


async def test_an_internal_error_is_an_attempt_backed_off_then_dead_and_reported(tmp_path: Path) -> None:
    clock = Clock()
    settings = make_settings(tmp_path, GATEWAY_MAX_INTERNAL_ERRORS="4", **BRAZE)
    app = create_app(settings, clock=clock, start_dispatcher=False)
    async with AsyncTestClient(app) as client:
        message_id = await post(client, SEED_BODY)
        app.state.runtime.adapters[("nhn", "kakao")] = broken(ValueError)
        waits = []
        for failures in range(1, 4):
            assert await app.state.dispatcher.run_once() == 1
            detail = await app.state.store.get(message_id)
            assert detail.record.status is Status.RETRYING
            assert detail.record.attempt_count == failures
            assert detail.events[-1].reason == f"internal error {failures} of 4; next attempt scheduled"
            # Not taken again before its back-off ends.
            assert await app.state.dispatcher.run_once() == 0
            waits.append(detail.record.next_attempt_at - clock())
            clock.now = detail.record.next_attempt_at
        assert all(wait >= 15 for wait in waits)
        app.state.runtime.adapters[("nhn", "kakao")] = broken(KeyError)
        assert await app.state.dispatcher.run_once() == 1

        detail = await app.state.store.get(message_id)
        assert detail.record.status is Status.DEAD
        assert detail.events[-1].reason == "internal error 4 of 4; giving up"
        assert [attempt.outcome for attempt in detail.attempts] == ["error"] * 4
        # Each distinct error is written out once, with where it was raised and not its message.
        details = [attempt.detail for attempt in detail.attempts]
        assert details[0].startswith("internal error: ValueError at ")
        assert details[1:3] == ["internal error: the same again"] * 2
        assert details[3].startswith("internal error: KeyError at ")
        assert not any("adapter bug" in text for text in details)
        [reported] = await app.state.store.claim_feedback(now=clock(), limit=10, lease=60)
        assert (reported.record.id, reported.state) == (message_id, Status.DEAD)


async def test_a_store_outage_is_not_counted_against_the_message(client: Any, app: Litestar) -> None:
    message_id = await post(client, SEED_BODY)
    app.state.runtime.adapters[("nhn", "kakao")] = broken(StoreUnavailable)

    await app.state.dispatcher.run_once()

    detail = await app.state.store.get(message_id)
    # Left to its lease, to be claimed again once the store answers; no attempt, no step towards dead.
    assert detail.record.status is Status.SENDING
    assert detail.attempts == ()


async def test_a_message_that_failed_internally_is_sent_once_the_fault_is_gone(client: Any, app: Litestar) -> None:
    message_id = await post(client, SEED_BODY)
    adapter = app.state.runtime.adapters[("nhn", "kakao")]
    app.state.runtime.adapters[("nhn", "kakao")] = broken(RuntimeError)
    await app.state.dispatcher.run_once()
    assert await status_of(app, message_id) is Status.RETRYING
    app.state.runtime.adapters[("nhn", "kakao")] = adapter
    app.state.clock.advance(3600)
    await app.state.dispatcher.run_once()
    detail = await app.state.store.get(message_id)
    assert detail.record.status is Status.ACCEPTED
    assert [attempt.outcome for attempt in detail.attempts] == ["error", "accepted"]


@pytest.mark.parametrize(
    ("env", "body", "emulator"),
    [
        ({"GATEWAY_SENDGRID_URL": "http://sendgrid.staging.test"}, EMAIL_WITH_BUTTON, "sendgrid"),
        ({"GATEWAY_LMS_VENDOR": "solapi", "GATEWAY_SOLAPI_URL": "http://solapi.staging.test"}, LMS_BODY, "solapi"),
        ({"GATEWAY_NHN_KAKAO_URL": "http://kakao.staging.test"}, SEED_BODY, "nhn_kakao"),
    ],
)
async def test_a_vendor_url_without_credentials_is_emulated_at_that_host(
    tmp_path: Path, env: dict[str, str], body: dict[str, Any], emulator: str
) -> None:
    app = create_app(make_settings(tmp_path, **env), clock=Clock(), start_dispatcher=False)
    async with AsyncTestClient(app) as client:
        message_id = await post(client, body)
        await app.state.dispatcher.run_once()
        assert await status_of(app, message_id) is Status.ACCEPTED
        [request] = app.state.runtime.emulators[emulator].requests
        assert request.url.host.endswith("staging.test")
