"""Uncertain sends (issue 9): a send whose answer was lost is looked up at the vendor before it is sent again.

Against the NHN kakao emulator, which can take a send and then time out ("received but not answered") and can
ignore the idempotency header the brand message API does not document.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from adapters.emulator import Fault
from gateway.app import create_app
from gateway.models import MessageDetail, Status
from tests.conftest import EMAIL_BODY, LMS_BODY, SEED_BODY, Clock, ingest_headers, make_settings

URL = "/v1/braze/messages"


async def post(client: AsyncTestClient[Litestar], body: dict[str, Any]) -> str:
    response = await client.post(URL, json=body, headers=ingest_headers())
    assert response.status_code == 202, response.text
    return str(response.json()["messageId"])


def kakao(app: Litestar) -> Any:
    emulator = app.state.runtime.emulators["nhn_kakao"]
    emulator.clock = app.state.clock
    # An NHN that ignores the header: only the lookup keeps the message single.
    emulator.honour_idempotency = False
    return emulator


def sends(emulator: Any) -> int:
    return sum(1 for request in emulator.requests if request.method == "POST")


def lookups(emulator: Any) -> int:
    return sum(1 for request in emulator.requests if request.method == "GET")


async def run_when_due(app: Litestar, detail: MessageDetail) -> MessageDetail:
    app.state.clock.now = max(app.state.clock.now, detail.record.next_attempt_at or 0.0)
    assert await app.state.dispatcher.run_once() == 1
    return await app.state.store.get(detail.record.id)  # type: ignore[no-any-return]


async def test_a_send_taken_but_not_answered_is_found_by_the_lookup_and_never_sent_again(
    client: Any, app: Litestar
) -> None:
    emulator = kakao(app)
    emulator.script(Fault(timeout=True, received=True))
    message_id = await post(client, SEED_BODY)
    await app.state.dispatcher.run_once()
    detail = await app.state.store.get(message_id)
    assert detail.record.status is Status.RETRYING
    assert [a.outcome for a in detail.attempts] == ["uncertain"]
    assert detail.record.next_attempt_at == app.state.clock() + app.state.settings.lookup_delay
    detail = await run_when_due(app, detail)
    assert detail.record.status is Status.ACCEPTED
    assert detail.record.vendor_message_id == emulator.sent[0].request_id
    assert [(a.outcome, a.vendor_code) for a in detail.attempts] == [("uncertain", "timeout"), ("lookup", "found")]
    assert "not sent again" in detail.events[-1].reason
    assert (sends(emulator), lookups(emulator)) == (1, 1)


async def test_a_send_that_never_arrived_is_sent_again_once_after_the_lookup(client: Any, app: Litestar) -> None:
    emulator = kakao(app)
    emulator.script(Fault(timeout=True))  # lost before NHN took it
    message_id = await post(client, SEED_BODY)
    await app.state.dispatcher.run_once()
    detail = await run_when_due(app, await app.state.store.get(message_id))
    assert detail.record.status is Status.ACCEPTED
    assert [(a.number, a.outcome, a.vendor_code) for a in detail.attempts] == [
        (1, "uncertain", "timeout"),
        (2, "lookup", "not_found"),
        (3, "accepted", "0"),
    ]
    assert (sends(emulator), lookups(emulator), len(emulator.sent)) == (2, 1, 1)
    assert any("does not have the message" in event.reason for event in detail.events)


async def test_a_lookup_that_cannot_tell_is_asked_again_with_back_off_then_ends_unknown(tmp_path: Path) -> None:
    app = create_app(
        make_settings(tmp_path, GATEWAY_LOOKUP_ATTEMPTS="3", GATEWAY_LOOKUP_DELAY="60"),
        clock=Clock(),
        start_dispatcher=False,
    )
    async with AsyncTestClient(app) as client:
        emulator = kakao(app)
        emulator.script(Fault(timeout=True, received=True), *[Fault(http_status=500)] * 3)
        message_id = await post(client, SEED_BODY)
        await app.state.dispatcher.run_once()
        detail = await app.state.store.get(message_id)
        waits = []
        for _ in range(3):
            before = app.state.clock.now = detail.record.next_attempt_at
            detail = await run_when_due(app, detail)
            if detail.record.status is Status.RETRYING:
                waits.append(detail.record.next_attempt_at - before)
        assert waits == [120.0, 240.0]
        assert detail.record.status is Status.UNKNOWN
        assert [a.vendor_code for a in detail.attempts] == ["timeout", "cannot_tell", "cannot_tell", "cannot_tell"]
        assert "could not tell after 3 lookups" in detail.events[-1].reason
        assert (sends(emulator), lookups(emulator)) == (1, 3)


async def test_a_repeated_key_after_a_failed_first_attempt_is_looked_up_and_sent_not_taken_as_accepted(
    client: Any, app: Litestar
) -> None:
    emulator = kakao(app)
    emulator.honour_idempotency = True
    # The first attempt fails (-9999) yet leaves its key behind; the in-process retry meets -1005.
    emulator.script(Fault(vendor_code="-9999"), Fault(vendor_code="-1005"))
    message_id = await post(client, SEED_BODY)
    await app.state.dispatcher.run_once()
    detail = await app.state.store.get(message_id)
    assert detail.record.status is Status.RETRYING
    assert [(a.outcome, a.vendor_code) for a in detail.attempts] == [("retryable", "-9999"), ("uncertain", "-1005")]
    detail = await run_when_due(app, detail)
    assert detail.record.status is Status.ACCEPTED
    assert [a.vendor_code for a in detail.attempts][2:] == ["not_found", "0"]
    assert len(emulator.sent) == 1


async def test_an_lms_taken_but_not_answered_is_found_at_nhn_sms_and_never_sent_again(
    client: Any, app: Litestar
) -> None:
    emulator = app.state.runtime.emulators["nhn_sms"]
    emulator.clock = app.state.clock
    emulator.script(Fault(timeout=True, received=True))
    message_id = await post(client, LMS_BODY)
    await app.state.dispatcher.run_once()
    detail = await run_when_due(app, await app.state.store.get(message_id))
    assert detail.record.status is Status.ACCEPTED
    assert detail.record.vendor_message_id == emulator.sent[0].request_id
    assert [a.vendor_code for a in detail.attempts] == ["timeout", "found"]
    assert (sends(emulator), lookups(emulator)) == (1, 1)


async def test_an_lms_that_never_arrived_at_nhn_sms_is_sent_again_once(client: Any, app: Litestar) -> None:
    emulator = app.state.runtime.emulators["nhn_sms"]
    emulator.clock = app.state.clock
    emulator.script(Fault(timeout=True))
    message_id = await post(client, LMS_BODY)
    await app.state.dispatcher.run_once()
    detail = await run_when_due(app, await app.state.store.get(message_id))
    assert detail.record.status is Status.ACCEPTED
    assert [a.vendor_code for a in detail.attempts] == ["timeout", "not_found", "0"]
    assert (sends(emulator), len(emulator.sent)) == (2, 1)


async def test_a_vendor_without_a_lookup_still_retries_a_timeout_at_once(client: Any, app: Litestar) -> None:
    emulator = app.state.runtime.emulators["sendgrid"]
    emulator.script(Fault(timeout=True))
    message_id = await post(client, EMAIL_BODY)
    await app.state.dispatcher.run_once()
    detail = await app.state.store.get(message_id)
    assert detail.record.status is Status.ACCEPTED
    assert [a.outcome for a in detail.attempts] == ["retryable", "accepted"]


async def test_a_solapi_send_taken_but_not_answered_is_found_by_its_custom_field(client: Any, app: Litestar) -> None:
    app.state.clock.now = time.time()  # Solapi's emulator dates what it takes by the real clock
    emulator = app.state.runtime.emulators["solapi"]
    emulator.script(Fault(timeout=True, received=True))
    message_id = await post(client, LMS_BODY | {"vendor": "solapi", "dispatchId": "d-solapi"})
    await app.state.dispatcher.run_once()
    detail = await run_when_due(app, await app.state.store.get(message_id))
    assert detail.record.status is Status.ACCEPTED
    assert detail.record.vendor_message_id == emulator.sent[0].message_id
    assert [a.vendor_code for a in detail.attempts] == ["timeout", "found"]
    assert (sends(emulator), lookups(emulator)) == (1, 1)


async def test_a_solapi_send_that_never_arrived_is_sent_again_once(client: Any, app: Litestar) -> None:
    app.state.clock.now = time.time()
    emulator = app.state.runtime.emulators["solapi"]
    emulator.script(Fault(timeout=True))
    message_id = await post(client, LMS_BODY | {"vendor": "solapi", "dispatchId": "d-solapi"})
    await app.state.dispatcher.run_once()
    detail = await run_when_due(app, await app.state.store.get(message_id))
    assert detail.record.status is Status.ACCEPTED
    assert [a.vendor_code for a in detail.attempts][:2] == ["timeout", "not_found"]
    assert (sends(emulator), len(emulator.sent)) == (2, 1)


async def test_an_nhn_email_taken_but_not_answered_is_found_and_never_sent_again(tmp_path: Path) -> None:
    app = create_app(
        make_settings(tmp_path, GATEWAY_EMAIL_VENDOR="nhn"), clock=Clock(time.time()), start_dispatcher=False
    )
    async with AsyncTestClient(app) as client:
        emulator = app.state.runtime.emulators["nhn_email"]
        emulator.script(Fault(timeout=True, received=True))
        message_id = await post(client, EMAIL_BODY)
        await app.state.dispatcher.run_once()
        detail = await run_when_due(app, await app.state.store.get(message_id))
        assert detail.record.status is Status.ACCEPTED
        assert [a.vendor_code for a in detail.attempts] == ["timeout", "found"]
        assert (sends(emulator), lookups(emulator)) == (1, 1)
