"""The Braze reporter against a respx double of ``POST /users/track`` and a SQLite outbox."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from gateway.feedback.braze import BrazeReporter, braze_event
from gateway.models import BrazeContext, Status, StoredMessage
from gateway.store import SqliteStore
from gateway.store.base import FeedbackItem, Report
from tests.conftest import Clock
from tests.gateway.store.factory import new_message

URL = "https://rest.iad-01.braze.com/users/track"
OK = httpx.Response(201, json={"message": "success"})


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    opened = SqliteStore(str(tmp_path / "gateway.db"))
    await opened.open()
    yield opened
    await opened.close()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as opened:
        yield opened


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def reporter(store: SqliteStore, client: httpx.AsyncClient, clock: Clock, sleeps: Sleeps) -> BrazeReporter:
    return BrazeReporter(
        store, client, rest_url="https://rest.iad-01.braze.com/", api_key="braze-key", clock=clock, sleep=sleeps
    )


async def final_states(store: SqliteStore, count: int, clock: Clock, status: Status = Status.DELIVERED) -> list[str]:
    ids = []
    for _ in range(count):
        new = new_message()
        await store.add(new, idempotency_window=60)
        await store.transition(new.id, status, "done", now=clock(), report=Report("1000"))
        ids.append(new.id)
    return ids


def sent_events(route: respx.Route) -> list[dict[str, Any]]:
    return [event for call in route.calls for event in json.loads(call.request.content)["events"]]


def test_an_event_names_the_state_and_carries_ids_but_no_personal_data() -> None:
    new = new_message(
        user_id="u-7", braze=BrazeContext(campaign_id="c1", campaign_name="실시간 베스트", dispatch_id="d1")
    )
    record = StoredMessage(
        id=new.id,
        idempotency_key=new.idempotency_key,
        vendor="nhn",
        status=Status.FALLBACK,
        message=new.message,
        created_at=new.created_at,
        updated_at=new.created_at,
        next_attempt_at=None,
        attempt_count=1,
        child_id="lms-1",
    )
    item = FeedbackItem(id=1, state=Status.FALLBACK, code="3018", at=1795755600.25, record=record)

    event = braze_event(item)

    assert event == {
        "external_id": "u-7",
        "name": "gateway_message_fallback",
        "time": "2026-11-27T05:00:00.250Z",
        "properties": {
            "message_id": new.id,
            "channel": "kakao",
            "vendor": "nhn",
            "campaign_id": "c1",
            "campaign_name": "실시간 베스트",
            "dispatch_id": "d1",
            "vendor_code": "3018",
            "fallback_message_id": "lms-1",
        },
    }
    assert new.message.phone
    assert new.message.phone not in json.dumps(event)


@respx.mock
async def test_eighty_final_states_go_as_a_batch_of_75_and_one_of_5_each_once(
    store: SqliteStore, reporter: BrazeReporter, clock: Clock
) -> None:
    route = respx.post(URL).mock(return_value=OK)
    ids = await final_states(store, 80, clock)

    assert [await reporter.run_once() for _ in range(3)] == [75, 5, 0]

    assert [len(json.loads(call.request.content)["events"]) for call in route.calls] == [75, 5]
    assert sorted(e["properties"]["message_id"] for e in sent_events(route)) == sorted(ids)
    assert {call.request.headers["Authorization"] for call in route.calls} == {"Bearer braze-key"}
    clock.advance(3600)
    assert await reporter.run_once() == 0


@respx.mock
async def test_5xx_and_transport_errors_are_retried_in_process(
    store: SqliteStore, reporter: BrazeReporter, clock: Clock, sleeps: Sleeps
) -> None:
    route = respx.post(URL).mock(side_effect=[httpx.Response(503), httpx.ConnectError("reset"), OK])
    await final_states(store, 2, clock)

    assert await reporter.run_once() == 2

    assert route.call_count == 3
    assert len(sleeps.waits) == 2
    assert all(wait <= 5 for wait in sleeps.waits)
    assert len(sent_events(route)) == 6  # the same two events, three times: only the last try was taken
    assert await reporter.run_once() == 0


@respx.mock
async def test_a_batch_braze_refuses_stays_queued_and_reporting_pauses(
    store: SqliteStore, reporter: BrazeReporter, clock: Clock
) -> None:
    route = respx.post(URL).mock(side_effect=[httpx.Response(401), OK])
    ids = await final_states(store, 3, clock)

    assert await reporter.run_once() == 0
    assert route.call_count == 1  # a 401 is not retried in-process
    clock.advance(29)
    assert await reporter.run_once() == 0
    assert route.call_count == 1
    clock.advance(1)
    assert await reporter.run_once() == 3

    assert sorted(
        e["properties"]["message_id"] for e in json.loads(route.calls[-1].request.content)["events"]
    ) == sorted(ids)


@respx.mock
async def test_a_long_retry_after_is_waited_out_by_pausing_not_in_process(
    store: SqliteStore, reporter: BrazeReporter, clock: Clock, sleeps: Sleeps
) -> None:
    route = respx.post(URL).mock(side_effect=[httpx.Response(429, headers={"Retry-After": "90"}), OK])
    await final_states(store, 1, clock)

    assert await reporter.run_once() == 0
    clock.advance(89)
    assert await reporter.run_once() == 0
    clock.advance(1)
    assert await reporter.run_once() == 1

    assert (route.call_count, sleeps.waits) == (2, [])


@respx.mock
async def test_a_short_retry_after_is_honoured_in_process(
    store: SqliteStore, reporter: BrazeReporter, clock: Clock, sleeps: Sleeps
) -> None:
    respx.post(URL).mock(side_effect=[httpx.Response(429, headers={"Retry-After": "3"}), OK])
    await final_states(store, 1, clock)

    assert await reporter.run_once() == 1

    assert len(sleeps.waits) == 1
    assert sleeps.waits[0] >= 3


@respx.mock
async def test_events_braze_refuses_inside_an_accepted_batch_are_logged_not_resent(
    store: SqliteStore, reporter: BrazeReporter, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    answer = {"message": "success", "errors": [{"type": "'external_id' is required", "input_array": "events"}]}
    route = respx.post(URL).mock(return_value=httpx.Response(201, json=answer))
    await final_states(store, 2, clock)

    with caplog.at_level("WARNING", logger="gateway.feedback.braze"):
        assert await reporter.run_once() == 2

    assert "Braze refused 1 event(s) of a batch: 'external_id' is required" in caplog.text
    clock.advance(3600)
    assert await reporter.run_once() == 0
    assert route.call_count == 1
