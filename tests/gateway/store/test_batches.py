"""A batch request's writes (begin_send_many, transition_many, record_attempts), run against both backends."""

from __future__ import annotations

from gateway.models import Attempt, Event, NewMessage, Status
from gateway.store import Store
from gateway.store.base import AttemptEntry, Report, Transition
from tests.gateway.store.factory import T0, new_message

WINDOW = 24 * 3600.0
SENDING = frozenset({Status.SENDING})
REQUEST: dict[str, object] = {"method": "POST", "url": "https://vendor.example/send", "headers": {}, "body": {"n": 1}}


def _attempt(number: int, outcome: str, **fields: object) -> Attempt:
    return Attempt(number=number, started_at=T0 + number, duration_ms=40.0, outcome=outcome, **fields)  # type: ignore[arg-type]


async def _claimed(store: Store, count: int) -> list[NewMessage]:
    news = [new_message(next_attempt_at=T0 + i / 1000) for i in range(count)]
    for new in news:
        await store.add(new, idempotency_window=WINDOW)
    assert len(await store.claim(now=T0 + 1, limit=count, lease=60)) == count
    return news


async def test_begin_send_many_marks_every_message_being_sent_and_only_those(store: Store) -> None:
    sending = await _claimed(store, 3)
    queued = new_message()
    await store.add(queued, idempotency_window=WINDOW)

    await store.begin_send_many([*(new.id for new in sending), queued.id, "unknown-id"], now=T0 + 2)

    marks = [(await store.get(new.id)).record.send_started_at for new in [*sending, queued]]  # type: ignore[union-attr]
    assert marks == [T0 + 2, T0 + 2, T0 + 2, None]


async def test_transition_many_settles_each_message_by_its_own_transition(store: Store) -> None:
    accepted, dead, retrying, unknown = await _claimed(store, 4)
    await store.begin_send_many([accepted.id, dead.id, retrying.id, unknown.id], now=T0 + 2)

    moved = await store.transition_many(
        [
            Transition(
                message_id=accepted.id,
                status=Status.ACCEPTED,
                reason="accepted by nhn as r-1",
                expect=SENDING,
                attempt=_attempt(1, "accepted", http_status=200, vendor_code="0"),
                vendor_message_id="r-1",
                vendor_request=REQUEST,
            ),
            Transition(
                message_id=dead.id,
                status=Status.DEAD,
                reason="rejected by nhn: -1001",
                expect=SENDING,
                attempt=_attempt(1, "permanent", http_status=200, vendor_code="-1001"),
                report=Report("-1001"),
            ),
            Transition(
                message_id=retrying.id,
                status=Status.RETRYING,
                reason="attempt 1 failed; next attempt scheduled",
                expect=SENDING,
                attempt=_attempt(1, "retryable", http_status=503),
                next_attempt_at=T0 + 60,
            ),
            Transition(message_id=unknown.id, status=Status.UNKNOWN, reason="uncertain send", expect=SENDING),
        ],
        now=T0 + 3,
    )

    assert moved == [True, True, True, True]
    details = [await store.get(new.id) for new in (accepted, dead, retrying, unknown)]
    records = [detail.record for detail in details]  # type: ignore[union-attr]
    assert [r.status for r in records] == [Status.ACCEPTED, Status.DEAD, Status.RETRYING, Status.UNKNOWN]
    assert [r.attempt_count for r in records] == [1, 1, 1, 0]
    assert [r.next_attempt_at for r in records] == [None, None, T0 + 60, None]
    # The mark is cleared by the answer, except on a message that ended unknown (it says why).
    assert [r.send_started_at for r in records] == [None, None, None, T0 + 2]
    assert (records[0].vendor_message_id, records[0].vendor_request) == ("r-1", REQUEST)
    assert details[0].attempts == (_attempt(1, "accepted", http_status=200, vendor_code="0"),)  # type: ignore[union-attr]
    assert details[1].events[-1] == Event(at=T0 + 3, status=Status.DEAD, reason="rejected by nhn: -1001")  # type: ignore[union-attr]
    feedback = await store.claim_feedback(now=T0 + 3, limit=10, lease=60)
    assert [(item.record.id, item.state, item.code) for item in feedback] == [(dead.id, Status.DEAD, "-1001")]
    # The leases are cleared: only the rescheduled message is due again.
    assert [m.id for m in await store.claim(now=T0 + 1000, limit=10, lease=60)] == [retrying.id]


async def test_a_stale_transition_in_a_batch_writes_nothing_and_the_others_move(store: Store) -> None:
    first, moved_elsewhere, last = await _claimed(store, 3)
    await store.transition(moved_elsewhere.id, Status.ACCEPTED, "taken by a receipt", now=T0 + 2)

    moved = await store.transition_many(
        [
            Transition(
                message_id=new.id,
                status=Status.DEAD,
                reason="rejected",
                expect=SENDING,
                attempt=_attempt(1, "permanent"),
                report=Report("x"),
            )
            for new in (first, moved_elsewhere, last)
        ]
        + [Transition(message_id="unknown-id", status=Status.DEAD, reason="rejected", expect=SENDING)],
        now=T0 + 3,
    )

    assert moved == [True, False, True, False]
    stale = await store.get(moved_elsewhere.id)
    assert stale is not None
    assert (stale.record.status, stale.record.attempt_count, stale.attempts) == (Status.ACCEPTED, 0, ())
    assert stale.events[-1].reason == "taken by a receipt"
    feedback = await store.claim_feedback(now=T0 + 3, limit=10, lease=60)
    assert sorted(item.record.id for item in feedback) == sorted([first.id, last.id])


async def test_transition_many_falls_back_once_with_the_child_linked_both_ways(store: Store) -> None:
    kakao, already = await _claimed(store, 2)
    earlier_child = new_message(channel="lms", fallback="none")
    await store.link_fallback(already.id, earlier_child, "fell back before", now=T0 + 2)
    await store.claim(now=T0 + 2, limit=10, lease=60)  # the earlier child, so the next claim sees only the new one
    children = [new_message(channel="lms", fallback="none", created_at=T0 + 3) for _ in range(2)]
    children = [_child_of(child, parent.id) for child, parent in zip(children, (kakao, already), strict=True)]

    moved = await store.transition_many(
        [
            Transition(
                message_id=parent.id,
                status=Status.FALLBACK,
                reason=f"rejected by nhn: 3019; sent on as LMS {child.id}",
                expect=frozenset({Status.SENDING, Status.FALLBACK}),
                attempt=_attempt(1, "permanent", vendor_code="3019"),
                report=Report("3019"),
                fallback=child,
            )
            for parent, child in zip((kakao, already), children, strict=True)
        ],
        now=T0 + 3,
    )

    assert moved == [True, False]
    parent = await store.get(kakao.id)
    child = await store.get(children[0].id)
    assert parent is not None
    assert child is not None
    assert (parent.record.status, parent.record.child_id, parent.record.attempt_count) == (
        Status.FALLBACK,
        children[0].id,
        1,
    )
    assert (child.record.status, child.record.parent_id, child.record.message) == (
        Status.QUEUED,
        kakao.id,
        children[0].message,
    )
    assert await store.get(children[1].id) is None  # a message falls back at most once
    assert (await store.get(already.id)).record.child_id == earlier_child.id  # type: ignore[union-attr]
    assert [m.id for m in await store.claim(now=T0 + 3, limit=10, lease=60)] == [children[0].id]
    feedback = await store.claim_feedback(now=T0 + 3, limit=10, lease=60)
    assert [(item.record.id, item.state, item.code) for item in feedback] == [(kakao.id, Status.FALLBACK, "3019")]


async def test_record_attempts_keeps_each_status_and_lease_and_clears_the_marks(store: Store) -> None:
    news = await _claimed(store, 2)
    await store.begin_send_many([new.id for new in news], now=T0 + 2)

    await store.record_attempts(
        [
            AttemptEntry(
                message_id=new.id,
                attempt=_attempt(1, "retryable", http_status=503),
                reason=f"retrying {n}",
                vendor_request=REQUEST,
            )
            for n, new in enumerate(news)
        ]
        + [AttemptEntry(message_id="unknown-id", attempt=_attempt(1, "retryable"), reason="skipped")],
        now=T0 + 3,
    )

    for n, new in enumerate(news):
        detail = await store.get(new.id)
        assert detail is not None
        record = detail.record
        assert (record.status, record.attempt_count, record.send_started_at, record.vendor_request) == (
            Status.SENDING,
            1,
            None,
            REQUEST,
        )
        assert detail.attempts == (_attempt(1, "retryable", http_status=503),)
        assert detail.events[-1] == Event(at=T0 + 3, status=Status.SENDING, reason=f"retrying {n}")
    assert await store.claim(now=T0 + 30, limit=10, lease=60) == []  # the leases still hold


async def test_empty_batches_write_nothing(store: Store) -> None:
    assert await store.transition_many([], now=T0) == []
    await store.record_attempts([], now=T0)
    await store.begin_send_many([], now=T0)
    assert await store.count_by_status() == {}


def _child_of(child: NewMessage, parent_id: str) -> NewMessage:
    return NewMessage(
        id=child.id,
        idempotency_key=f"fallback:{parent_id}",
        vendor=child.vendor,
        message=child.message,
        raw_body=b"",
        status=Status.QUEUED,
        next_attempt_at=child.next_attempt_at,
        created_at=child.created_at,
        reason=f"fallback from kakao message {parent_id}",
        parent_id=parent_id,
    )


async def test_last_attempts_gives_each_message_its_latest(store: Store) -> None:
    tried, retried, untried = await _claimed(store, 3)
    await store.record_attempts(
        [
            AttemptEntry(message_id=tried.id, attempt=_attempt(1, "uncertain"), reason="a"),
            AttemptEntry(message_id=retried.id, attempt=_attempt(1, "retryable"), reason="b"),
        ],
        now=T0 + 2,
    )
    await store.record_attempt(retried.id, _attempt(2, "lookup", vendor_code="cannot_tell"), "c", now=T0 + 3)

    last = await store.last_attempts([tried.id, retried.id, untried.id, "unknown-id"])

    assert last == {tried.id: _attempt(1, "uncertain"), retried.id: _attempt(2, "lookup", vendor_code="cannot_tell")}
