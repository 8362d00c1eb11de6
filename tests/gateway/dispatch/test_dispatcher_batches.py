"""The dispatcher's batch path (docs/ARCHITECTURE.md, "Batches"), against a small vendor with a batch API.

Every test runs on SQLite and on PostgreSQL (the batch writes are each backend's own statements).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import pytest

from adapters.base import Adapter
from adapters.contract import OutboundMessage
from gateway.dispatch.dispatcher import Dispatcher
from gateway.dispatch.limits import Gates
from gateway.images.fetch import ImageRefused
from gateway.images.uploads import ImageUploads
from gateway.models import Attempt, MessageDetail, NewMessage, Status
from gateway.normalise.policy import policy_from_settings
from gateway.settings import Settings
from gateway.store import Store, open_store
from gateway.store.base import StoreUnavailable
from tests.conftest import BRAZE, NIGHT_KST, Clock, make_settings
from tests.gateway.dispatch.batch_vendor import FakeBatchAdapter, FakeBatchKakao, FakeVendor, IdempotentBatchAdapter

LMS = ("nhn", "lms")
#: 08:00 KST after NIGHT_KST, when kakao may be sent again.
EIGHT_KST = datetime(2026, 11, 27, 23, 0, tzinfo=UTC).timestamp()
_PHONES = itertools.count(10000000)


class Run(NamedTuple):
    dispatcher: Dispatcher
    store: Store
    vendor: FakeVendor
    clock: Clock
    waits: list[float]
    settings: Settings


@asynccontextmanager
async def running(
    tmp_path: Path,
    database_url: str,
    *,
    adapters: Mapping[tuple[str, str], Adapter] | None = None,
    lookup: bool = True,
    transport: httpx.AsyncBaseTransport | None = None,
    vendor: FakeVendor | None = None,
    env: Mapping[str, str] | None = None,
    images: ImageUploads | None = None,
) -> AsyncIterator[Run]:
    """A dispatcher whose NHN LMS (and kakao, when given) is the fake batch vendor; in-process waits recorded."""
    settings = make_settings(tmp_path, GATEWAY_DATABASE_URL=database_url, **(env or {}))
    store = open_store(settings.database_url)
    await store.open()
    vendor = vendor or FakeVendor()
    clock = Clock()
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    routes = adapters or {LMS: FakeBatchAdapter()}
    client = httpx.AsyncClient(transport=transport or vendor.transport())
    dispatcher = Dispatcher(
        store,
        routes,
        client,
        settings,
        policy_from_settings(settings),
        clock=clock,
        sleep=sleep,
        lookups={route: vendor.lookup for route in routes} if lookup else None,
        images=images,
    )
    try:
        yield Run(dispatcher, store, vendor, clock, waits, settings)
    finally:
        await client.aclose()
        await store.close()


async def add(
    run: Run, count: int, *, channel: str = "lms", content: str = "이번 주 추천 프로젝트", image_url: str | None = None
) -> list[str]:
    """Queue ``count`` messages of one content, each to its own phone."""
    ids = []
    for n in range(count):
        message = OutboundMessage(
            channel=channel,  # type: ignore[arg-type]
            user_id=f"u-{n}",
            content=content,
            phone=f"010{next(_PHONES)}",
            fallback="lms" if channel == "kakao" else "none",
            image_url=image_url,
        )
        new = NewMessage(
            id=f"m{n:03d}-{next(_PHONES)}",
            idempotency_key=f"k-{next(_PHONES)}",
            vendor="nhn",
            message=message,
            raw_body=b"{}",
            status=Status.QUEUED,
            next_attempt_at=run.clock.now,
            created_at=run.clock.now,
        )
        await run.store.add(new, idempotency_window=3600)
        ids.append(new.id)
    return ids


async def details(run: Run, ids: list[str]) -> list[MessageDetail]:
    found = [await run.store.get(message_id) for message_id in ids]
    assert all(detail is not None for detail in found)
    return found  # type: ignore[return-value]


def attempts(detail: MessageDetail) -> list[tuple[int, str, str | None]]:
    return [(a.number, a.outcome, a.vendor_code) for a in detail.attempts]


async def test_a_partly_failed_batch_settles_each_message_by_its_own_result(tmp_path: Path, database_url: str) -> None:
    async with running(tmp_path, database_url) as run:
        ok, bad, busy, lost = ids = await add(run, 4)
        run.vendor.scripts = {bad: ["bad"], busy: ["busy", "ok"], lost: ["drop"]}

        assert await run.dispatcher.run_once() == 4

        assert run.vendor.recipients() == [ids, [busy]]  # one request, then the retryable one alone
        found = await details(run, ids)
        assert [d.record.status for d in found] == [Status.ACCEPTED, Status.DEAD, Status.ACCEPTED, Status.RETRYING]
        assert [attempts(d) for d in found] == [
            [(1, "accepted", None)],
            [(1, "permanent", "E1")],
            [(1, "retryable", "E2"), (2, "accepted", None)],
            [(1, "uncertain", "missing")],
        ]
        assert found[0].record.vendor_message_id == f"v-{ok}"
        assert found[0].attempts[0].http_status == 200
        assert found[1].events[-1].reason == "rejected by nhn: E1 not a valid recipient"
        assert found[3].record.next_attempt_at == run.clock() + 120.0  # looked up before anything is sent again
        # Each message keeps its own part of the request, secrets redacted.
        kept = found[0].record.vendor_request
        assert kept is not None
        assert kept["body"]["to"] == [{"id": ok, "phone": found[0].record.message.phone}]
        assert kept["headers"] == {"X-Secret": "[redacted]"}
        assert all(d.record.send_started_at is None for d in found)
        assert len(run.waits) == 1


async def test_a_retried_batch_resends_only_its_retryable_messages(tmp_path: Path, database_url: str) -> None:
    async with running(tmp_path, database_url) as run:
        _, second, _, fourth = ids = await add(run, 4)
        run.vendor.statuses = [503]  # the whole first request fails
        run.vendor.scripts = {second: ["busy", "ok"], fourth: ["busy", "busy"]}

        await run.dispatcher.run_once()

        assert run.vendor.recipients() == [ids, ids, [second, fourth]]
        found = await details(run, ids)
        assert [d.record.status for d in found] == [Status.ACCEPTED, Status.ACCEPTED, Status.ACCEPTED, Status.RETRYING]
        assert attempts(found[0]) == [(1, "retryable", "http-503"), (2, "accepted", None)]
        assert attempts(found[1]) == [(1, "retryable", "http-503"), (2, "retryable", "E2"), (3, "accepted", None)]
        assert attempts(found[3]) == [(1, "retryable", "http-503"), (2, "retryable", "E2"), (3, "retryable", "E2")]
        assert [e.reason for e in found[1].events[-3:-1]] == [
            "attempt 1 failed (http-503 server error); retrying",
            "attempt 2 failed (E2 busy, try again); retrying",
        ]
        assert "attempt 3 failed (E2 busy, try again); next attempt scheduled" in found[3].events[-1].reason
        assert len(run.waits) == 2


async def test_a_batch_over_the_rate_limit_is_split_into_requests_paced_by_the_limiter(
    tmp_path: Path, database_url: str
) -> None:
    async with running(tmp_path, database_url, env={"GATEWAY_NHN_RATE": "100"}) as run:
        paced: list[float] = []

        async def rate_sleep(seconds: float) -> None:
            paced.append(round(seconds, 6))

        run.dispatcher.gates = Gates(run.settings.vendor_limits, rate_clock=lambda: 0.0, rate_sleep=rate_sleep)
        ids = await add(run, 25)

        await run.dispatcher.run_once()

        # 100 messages a second: at most a tenth of a second's worth (10) per request, each request going at its
        # last message's slot, so no second sees more than the limiter's bound.
        assert sorted(len(request) for request in run.vendor.recipients()) == [5, 10, 10]
        assert sorted(paced) == [0.1, 0.15]
        found = await details(run, ids)
        assert {d.record.status for d in found} == {Status.ACCEPTED}


@pytest.mark.parametrize("crash", [StoreUnavailable("disk gone"), asyncio.CancelledError()])
async def test_a_crash_between_the_answer_and_its_commit_is_settled_by_lookup_without_resending(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch, crash: BaseException
) -> None:
    async with running(tmp_path, database_url) as run:
        ids = await add(run, 3)

        async def crashing(*args: Any, **kwargs: Any) -> list[bool]:
            raise crash

        with monkeypatch.context() as patch:
            patch.setattr(run.store, "transition_many", crashing)
            if isinstance(crash, asyncio.CancelledError):
                with pytest.raises(asyncio.CancelledError):
                    await run.dispatcher.run_once()
            else:
                await run.dispatcher.run_once()
        found = await details(run, ids)
        assert {(d.record.status, d.record.send_started_at) for d in found} == {(Status.SENDING, run.clock())}
        assert all(d.attempts == () for d in found)

        run.clock.advance(21)  # the lease ran out: claimed again, the cut-off call recorded
        assert await run.dispatcher.run_once() == 3
        run.clock.advance(120)
        assert await run.dispatcher.run_once() == 3

        found = await details(run, ids)
        assert {d.record.status for d in found} == {Status.ACCEPTED}
        assert {tuple(attempts(d)) for d in found} == {((1, "uncertain", "cut-off"), (2, "lookup", "found"))}
        assert run.vendor.recipients() == [ids]  # never sent again


async def test_a_cut_off_batch_without_a_lookup_ends_unknown_even_where_the_vendor_honours_keys(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running(tmp_path, database_url, adapters={LMS: IdempotentBatchAdapter()}, lookup=False) as run:
        ids = await add(run, 2)

        async def crashing(*args: Any, **kwargs: Any) -> list[bool]:
            raise StoreUnavailable("disk gone")

        with monkeypatch.context() as patch:
            patch.setattr(run.store, "transition_many", crashing)
            await run.dispatcher.run_once()
        run.clock.advance(21)
        await run.dispatcher.run_once()

        found = await details(run, ids)
        # The key covered that request, not each message: a resend could deliver twice.
        assert {d.record.status for d in found} == {Status.UNKNOWN}
        assert run.vendor.recipients() == [ids]


async def test_a_kakao_message_rejected_in_a_batch_falls_back_to_lms(tmp_path: Path, database_url: str) -> None:
    routes = {("nhn", "kakao"): FakeBatchKakao(), LMS: FakeBatchAdapter()}
    async with running(tmp_path, database_url, adapters=routes, env=BRAZE) as run:
        kept, rejected, other = ids = await add(run, 3, channel="kakao")
        run.vendor.scripts = {rejected: ["bad"]}

        await run.dispatcher.run_once()

        parent, *_ = found = await details(run, [rejected, kept, other])
        assert [d.record.status for d in found] == [Status.FALLBACK, Status.ACCEPTED, Status.ACCEPTED]
        assert attempts(parent) == [(1, "permanent", "E1")]
        child_id = parent.record.child_id
        assert child_id is not None
        assert parent.events[-1].reason == f"rejected by nhn: E1 not a valid recipient; sent on as LMS {child_id}"
        [child] = await details(run, [child_id])
        assert (child.record.status, child.record.parent_id, child.record.message.channel) == (
            Status.QUEUED,
            rejected,
            "lms",
        )
        assert child.record.message.phone == parent.record.message.phone
        feedback = await run.store.claim_feedback(now=run.clock(), limit=10, lease=60)
        assert [(item.record.id, item.state, item.code) for item in feedback] == [(rejected, Status.FALLBACK, "E1")]

        assert await run.dispatcher.run_once() == 1  # the LMS, alone
        [child] = await details(run, [child_id])
        assert child.record.status is Status.ACCEPTED
        assert run.vendor.recipients() == [ids, [child_id]]


async def test_a_message_moved_by_someone_else_during_its_batch_leaves_the_others_settled(
    tmp_path: Path, database_url: str
) -> None:
    vendor = FakeVendor()
    moved: list[str] = []

    async def handle(request: httpx.Request) -> httpx.Response:
        await run.store.transition(moved[0], Status.DEAD, "stopped by staff", now=run.clock())
        return vendor.handle(request)

    async with running(tmp_path, database_url, vendor=vendor, transport=httpx.MockTransport(handle)) as run:
        _, stopped, _ = ids = await add(run, 3)
        moved.append(stopped)

        await run.dispatcher.run_once()

        found = await details(run, ids)
        assert [d.record.status for d in found] == [Status.ACCEPTED, Status.DEAD, Status.ACCEPTED]
        assert found[1].attempts == ()
        assert found[1].events[-1].reason == "stopped by staff"
        assert [attempts(found[0]), attempts(found[2])] == [[(1, "accepted", None)]] * 2


async def test_messages_that_need_handling_alone_keep_the_one_at_a_time_path(tmp_path: Path, database_url: str) -> None:
    async with running(tmp_path, database_url) as run:
        together = await add(run, 2)
        alone = await add(run, 1, content="다른 내용")  # its batch key has no company

        await run.dispatcher.run_once()

        assert sorted(run.vendor.recipients()) == sorted([together, alone])
        found = await details(run, [*together, *alone])
        assert {d.record.status for d in found} == {Status.ACCEPTED}


class Uploads(ImageUploads):
    """NHN's image upload, stubbed: each source URL becomes the vendor's copy, except a refused one."""

    def __init__(self) -> None:
        super().__init__(None, {}, None, None)  # type: ignore[arg-type]

    def handles(self, vendor: str) -> bool:
        return True

    async def vendor_image(self, vendor: str, source_url: str) -> str:
        if "small" in source_url:
            raise ImageRefused("smaller than 500 px")
        return "https://vendor.test/uploaded/" + source_url.rsplit("/", 1)[-1]


async def test_kakao_images_are_resolved_before_messages_share_a_request(tmp_path: Path, database_url: str) -> None:
    routes = {("nhn", "kakao"): FakeBatchKakao(), LMS: FakeBatchAdapter()}
    async with running(tmp_path, database_url, adapters=routes, images=Uploads()) as run:
        pictured = await add(run, 3, channel="kakao", image_url="https://cdn.example/a.png")
        refused = await add(run, 2, channel="kakao", image_url="https://cdn.example/small.png")

        await run.dispatcher.run_once()

        by_image = {body["image"]: [to["id"] for to in body["to"]] for body in run.vendor.requests}
        assert by_image == {"https://vendor.test/uploaded/a.png": pictured, None: refused}
        found = await details(run, [*pictured, *refused])
        assert {d.record.status for d in found} == {Status.ACCEPTED}
        assert all("image left out: smaller than 500 px" in [e.reason for e in d.events] for d in found[3:])


async def test_an_image_left_out_is_noted_once_however_often_the_message_is_tried(
    tmp_path: Path, database_url: str
) -> None:
    routes = {("nhn", "kakao"): FakeBatchKakao(), LMS: FakeBatchAdapter()}
    async with running(tmp_path, database_url, adapters=routes, images=Uploads()) as run:
        batched = await add(run, 2, channel="kakao", image_url="https://cdn.example/small.png")
        alone = await add(run, 1, channel="kakao", content="혼자", image_url="https://cdn.example/small.png")
        run.vendor.scripts = {message_id: ["busy"] * 3 for message_id in [*batched, *alone]}

        await run.dispatcher.run_once()  # three tries each, then rescheduled in the store
        run.clock.advance(3600)
        await run.dispatcher.run_once()

        found = await details(run, [*batched, *alone])
        assert {d.record.status for d in found} == {Status.ACCEPTED}
        assert [len(d.attempts) for d in found] == [4, 4, 4]
        notes = [[e.reason for e in d.events if e.reason.startswith("image left out")] for d in found]
        assert notes == [["image left out: smaller than 500 px"]] * 3


async def test_a_claim_inside_quiet_hours_is_held_in_one_transaction(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    routes = {("nhn", "kakao"): FakeBatchKakao(), LMS: FakeBatchAdapter()}
    async with running(tmp_path, database_url, adapters=routes) as run:
        run.clock.now = NIGHT_KST
        ids = await add(run, 3, channel="kakao")
        calls: list[int] = []
        transition_many = run.store.transition_many

        async def counted(transitions: Any, *, now: float) -> list[bool]:
            calls.append(len(transitions))
            return await transition_many(transitions, now=now)

        monkeypatch.setattr(run.store, "transition_many", counted)

        await run.dispatcher.run_once()

        found = await details(run, ids)
        assert {(d.record.status, d.record.next_attempt_at) for d in found} == {(Status.HELD, EIGHT_KST)}
        assert calls == [3]
        assert run.vendor.requests == []


async def test_a_rescheduled_message_batches_again_and_one_owing_a_lookup_is_looked_up_alone(
    tmp_path: Path, database_url: str
) -> None:
    async with running(tmp_path, database_url) as run:
        rescheduled, uncertain, _ = first = await add(run, 3)
        run.vendor.scripts = {rescheduled: ["busy"] * 3, uncertain: ["lost"]}
        await run.dispatcher.run_once()
        assert run.vendor.recipients() == [first, [rescheduled], [rescheduled]]
        fresh = await add(run, 2)
        run.clock.advance(200)  # both earlier ones are due again

        assert await run.dispatcher.run_once() == 4

        assert sorted(run.vendor.recipients()[3]) == sorted([*fresh, rescheduled])
        assert len(run.vendor.requests) == 4  # the uncertain one was found by its lookup, not sent again
        found = await details(run, [rescheduled, uncertain, *fresh])
        assert {d.record.status for d in found} == {Status.ACCEPTED}
        assert attempts(found[1]) == [(1, "uncertain", "E3"), (2, "lookup", "found")]
        assert [a.outcome for a in found[0].attempts] == ["retryable"] * 3 + ["accepted"]


async def test_a_message_whose_lookups_could_not_tell_is_never_batched(tmp_path: Path, database_url: str) -> None:
    async with running(tmp_path, database_url) as run:
        owing, fresh = await add(run, 2)
        await run.store.claim(now=run.clock(), limit=1, lease=20)
        for number, outcome, code in [(1, "uncertain", "timeout"), (2, "lookup", "cannot_tell")]:
            attempt = Attempt(number=number, started_at=run.clock(), duration_ms=1.0, outcome=outcome, vendor_code=code)  # type: ignore[arg-type]
            await run.store.record_attempt(owing, attempt, "earlier", now=run.clock())
        await run.store.transition(owing, Status.RETRYING, "asking again", now=run.clock(), next_attempt_at=run.clock())

        assert await run.dispatcher.run_once() == 2

        # Looked up first (not found), then sent alone: never in the fresh message's request.
        assert sorted(run.vendor.recipients()) == sorted([[owing], [fresh]])
        [detail] = await details(run, [owing])
        assert [a.vendor_code for a in detail.attempts] == ["timeout", "cannot_tell", "not_found", None]


class BrokenRecipients(FakeBatchAdapter):
    """An adapter whose recipient key fails: grouping its messages raises."""

    def recipient_key(self, message: OutboundMessage) -> str:
        raise RuntimeError("no recipient")


async def test_a_route_that_cannot_be_grouped_sends_each_message_alone(tmp_path: Path, database_url: str) -> None:
    async with running(tmp_path, database_url, adapters={LMS: BrokenRecipients()}) as run:
        ids = await add(run, 3)

        assert await run.dispatcher.run_once() == 3

        assert sorted(run.vendor.recipients()) == sorted([[message_id] for message_id in ids])
        found = await details(run, ids)
        assert {d.record.status for d in found} == {Status.ACCEPTED}
        assert await run.dispatcher.renew_leases() == 0  # none left held
