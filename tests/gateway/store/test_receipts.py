"""The receipt, sweep, poll and feedback part of the store contract, run against both backends."""

from __future__ import annotations

from typing import Any

import msgspec
import psycopg
import pytest

from adapters.contract import Reason
from gateway.models import Event, NewMessage, Receipt, Status
from gateway.store import StaleTransition, Store
from gateway.store.base import Report, Settlement
from gateway.store.sqlite import SqliteStore
from tests.gateway.store.factory import T0, new_message

WINDOW = 24 * 3600.0
TERMINAL = frozenset({Status.ACCEPTED})


def receipt(event_id: str, **fields: Any) -> Receipt:
    values: dict[str, Any] = {"vendor": "nhn", "outcome": "delivered", "code": "1000", "detail": "success"}
    return Receipt(event_id=event_id, **(values | fields))


def email(**fields: Any) -> NewMessage:
    values: dict[str, Any] = {
        "channel": "email",
        "vendor": "nhn",
        "phone": None,
        "email": "j@example.com",
        "subject": "제목",
        "buttons": (),
        "fallback": "none",
    }
    return new_message(**(values | fields))


async def accepted(store: Store, new: NewMessage | None = None, *, at: float = T0, vendor_id: str = "req-1") -> str:
    """Add a message and move it to ``accepted`` at ``at`` with the vendor's id ``vendor_id``."""
    new = new or new_message()
    await store.add(new, idempotency_window=WINDOW)
    await store.transition(new.id, Status.ACCEPTED, "accepted by nhn", now=at, vendor_message_id=vendor_id)
    return new.id


async def test_add_receipts_stores_each_vendor_event_once(store: Store) -> None:
    first = await store.add_receipts([receipt("h1"), receipt("h2"), receipt("h1")], now=T0)
    again = await store.add_receipts([receipt("h2"), receipt("h1", vendor="solapi")], now=T0 + 1)

    assert first == [True, True, False]
    assert again == [False, True]
    claimed = await store.claim_receipts(now=T0 + 1, limit=10, lease=60)
    assert [(r.receipt.vendor, r.receipt.event_id) for r in claimed] == [("nhn", "h1"), ("nhn", "h2"), ("solapi", "h1")]
    assert await store.add_receipts([], now=T0) == []


async def test_a_stored_receipt_keeps_every_field(store: Store) -> None:
    sent = receipt(
        "h1",
        outcome="failed",
        correlation_id="m-1",
        vendor_message_id="req-1",
        code="3018",
        detail="메시지를 전송할 수 없음",
        occurred_at=T0 - 5,
        reason=Reason.UNREACHABLE,
    )
    await store.add_receipts([sent], now=T0)

    [claimed] = await store.claim_receipts(now=T0, limit=10, lease=60)

    assert claimed.receipt == sent
    assert (claimed.received_at, claimed.state, claimed.message_id, claimed.settled_at, claimed.tries) == (
        T0,
        "pending",
        None,
        None,
        0,
    )


async def test_a_claimed_receipt_is_hidden_until_its_lease_runs_out(store: Store) -> None:
    await store.add_receipts([receipt(f"h{n}") for n in range(3)], now=T0)

    first = await store.claim_receipts(now=T0, limit=2, lease=60)
    second = await store.claim_receipts(now=T0 + 1, limit=10, lease=60)
    after_lease = await store.claim_receipts(now=T0 + 60, limit=10, lease=60)

    assert [r.receipt.event_id for r in first] == ["h0", "h1"]
    assert [r.receipt.event_id for r in second] == ["h2"]
    assert [r.receipt.event_id for r in after_lease] == ["h0", "h1"]


async def test_deferred_receipts_wait_each_until_its_time_and_count_their_tries(store: Store) -> None:
    await store.add_receipts([receipt("h1"), receipt("h2"), receipt("h3")], now=T0)
    first, second, settled = await store.claim_receipts(now=T0, limit=3, lease=60)
    await store.settle_receipts([(settled.id, Settlement(state="unmatched"))], now=T0)

    await store.defer_receipts([(first.id, T0 + 5), (second.id, T0 + 9), (settled.id, T0 + 5)])
    await store.defer_receipts([])

    assert await store.claim_receipts(now=T0 + 4, limit=3, lease=60) == []
    [again] = await store.claim_receipts(now=T0 + 5, limit=3, lease=60)
    assert (again.id, again.tries) == (first.id, 1)
    [later] = await store.claim_receipts(now=T0 + 9, limit=3, lease=60)
    assert (later.id, later.tries) == (second.id, 1)


async def test_find_receipt_messages_by_our_id_then_by_a_vendor_id_only_one_message_of_the_vendor_has(
    store: Store,
) -> None:
    message_id = await accepted(store, vendor_id="req-9")
    # One batch request's id is each of its messages': it names none of them.
    await accepted(store, new_message(created_at=T0 - 10), vendor_id="req-7")
    await accepted(store, vendor_id="req-7")
    alone = await accepted(store, vendor_id="req-5")
    solapi = await accepted(store, new_message(vendor="solapi"), vendor_id="req-9")

    found = await store.find_receipt_messages(
        [
            receipt("h1", correlation_id=message_id),
            receipt("h2", correlation_id="nope", vendor_message_id="req-9"),
            receipt("h3", vendor="solapi", correlation_id=message_id),
            receipt("h4", correlation_id="nope", vendor_message_id="nope"),
            receipt("h5", vendor_message_id="req-7"),
            receipt("h6", vendor="solapi", correlation_id=message_id, vendor_message_id="req-9"),
            receipt("h7", correlation_id=message_id),
            receipt("h8", vendor_message_id="req-5"),
        ]
    )

    assert [None if record is None else record.id for record in found] == [
        message_id,
        message_id,
        None,
        None,
        None,
        solapi,
        message_id,
        alone,
    ]
    assert await store.find_receipt_messages([]) == []


async def test_settling_moves_the_message_records_the_event_feedback_and_the_receipt(store: Store) -> None:
    message_id = await accepted(store)
    await store.add_receipts([receipt("h1", correlation_id=message_id)], now=T0 + 10)
    [claimed] = await store.claim_receipts(now=T0 + 10, limit=1, lease=60)
    settlement = Settlement(
        state="applied",
        message_id=message_id,
        status=Status.DELIVERED,
        expect=TERMINAL,
        reason="delivered: nhn 1000 success",
        report=Report("1000"),
    )

    assert await store.settle_receipts([(claimed.id, settlement)], now=T0 + 11) == [None]
    detail = await store.get(message_id)

    assert detail is not None
    assert detail.record.status == Status.DELIVERED
    assert detail.events[-1] == Event(at=T0 + 11, status=Status.DELIVERED, reason="delivered: nhn 1000 success")
    [stored] = detail.receipts
    assert (stored.id, stored.state, stored.message_id, stored.settled_at) == (
        claimed.id,
        "applied",
        message_id,
        T0 + 11,
    )
    [item] = await store.claim_feedback(now=T0 + 11, limit=10, lease=60)
    assert (item.state, item.code, item.at, item.record.id) == (Status.DELIVERED, "1000", T0 + 11, message_id)
    assert await store.claim_receipts(now=T0 + 100, limit=10, lease=60) == []


async def test_settling_from_an_unexpected_status_writes_nothing(store: Store) -> None:
    new = new_message()
    await store.add(new, idempotency_window=WINDOW)
    await store.add_receipts([receipt("h1", correlation_id=new.id)], now=T0)
    [claimed] = await store.claim_receipts(now=T0, limit=1, lease=60)
    settlement = Settlement(
        state="applied",
        message_id=new.id,
        status=Status.DELIVERED,
        expect=TERMINAL,
        reason="delivered",
        report=Report(None),
    )

    [refused] = await store.settle_receipts([(claimed.id, settlement)], now=T0 + 1)

    assert isinstance(refused, StaleTransition)

    detail = await store.get(new.id)
    assert detail is not None
    assert (detail.record.status, len(detail.events), detail.receipts) == (Status.QUEUED, 1, ())
    assert await store.claim_feedback(now=T0 + 1, limit=10, lease=60) == []
    assert [r.id for r in await store.claim_receipts(now=T0 + 61, limit=1, lease=60)] == [claimed.id]


async def test_a_mixed_batch_settles_each_receipt_by_its_own_result_in_one_transaction(
    store: Store, database_url: str
) -> None:
    delivered, failed, progress, moved = [await accepted(store, vendor_id=f"r{n}") for n in range(4)]
    late = await accepted(store, vendor_id="r5")
    await store.transition(late, Status.DELIVERED, "delivered earlier", now=T0 + 1)
    events = ["d", "f", "p", "l", "again", "m", "x", "y", "dup"]
    targets = [delivered, failed, progress, late, delivered, moved, "gone", "gone", delivered]
    added = await store.add_receipts(
        [receipt(e, correlation_id=t) for e, t in zip(events, targets, strict=True)], now=T0
    )
    assert added == [True] * 9
    ids = {stored.receipt.event_id: stored.id for stored in await store.claim_receipts(now=T0, limit=10, lease=60)}
    await store.transition(moved, Status.SENDING, "taken by someone else", now=T0 + 2)
    ended = frozenset({Status.DELIVERED})

    def final(status: Status, code: str) -> Settlement:
        return Settlement(
            state="applied",
            message_id=None,
            status=status,
            expect=TERMINAL,
            reason=f"{status}: {code}",
            report=Report(code),
        )

    batch = [
        (ids["d"], msgspec.structs.replace(final(Status.DELIVERED, "1000"), message_id=delivered)),
        (ids["f"], msgspec.structs.replace(final(Status.FAILED, "3022"), message_id=failed)),
        (ids["p"], Settlement(state="progress", message_id=progress, expect=TERMINAL, reason="at the carrier")),
        (ids["l"], Settlement(state="late", message_id=late, expect=ended, reason="late: delivered")),
        # the same message again, after the first of the batch delivered it
        (ids["again"], Settlement(state="late", message_id=delivered, expect=ended, reason="late again")),
        (ids["m"], msgspec.structs.replace(final(Status.DELIVERED, "1000"), message_id=moved)),
        (ids["x"], Settlement(state="applied", message_id="gone", status=Status.DELIVERED, reason="x")),
        (ids["y"], Settlement(state="applied", message_id="gone")),  # matched, then purged meanwhile
        (ids["dup"], Settlement(state="unmatched")),
        (ids["dup"], Settlement(state="unmatched")),  # the same receipt twice: the second finds it settled
    ]
    before = await _transactions(store, database_url)

    answers = await store.settle_receipts(batch, now=T0 + 10)

    assert [type(answer).__name__ for answer in answers] == [
        "NoneType",
        "NoneType",
        "NoneType",
        "NoneType",
        "NoneType",
        "StaleTransition",
        "KeyError",
        "KeyError",
        "NoneType",
        "StaleTransition",
    ]
    assert await _transactions(store, database_url) == before + 1
    statuses = {m: (await store.get(m)).record.status for m in (delivered, failed, progress, late, moved)}  # type: ignore[union-attr]
    assert statuses == {
        delivered: Status.DELIVERED,
        failed: Status.FAILED,
        progress: Status.ACCEPTED,
        late: Status.DELIVERED,
        moved: Status.SENDING,
    }
    detail = await store.get(delivered)
    assert detail is not None
    assert [(e.status, e.reason) for e in detail.events[-2:]] == [
        (Status.DELIVERED, "delivered: 1000"),
        (Status.DELIVERED, "late again"),
    ]
    assert [(r.receipt.event_id, r.state) for r in detail.receipts] == [("d", "applied"), ("again", "late")]
    progress_detail = await store.get(progress)
    assert progress_detail is not None
    assert progress_detail.events[-1] == Event(at=T0 + 10, status=Status.ACCEPTED, reason="at the carrier")
    feedback = await store.claim_feedback(now=T0 + 10, limit=10, lease=60)
    assert sorted((f.record.id, f.state, f.code) for f in feedback) == sorted(
        [(delivered, Status.DELIVERED, "1000"), (failed, Status.FAILED, "3022")]
    )
    # the refused ones stay pending, untouched
    pending = await store.claim_receipts(now=T0 + 60, limit=10, lease=60)
    assert sorted(stored.receipt.event_id for stored in pending) == ["m", "x", "y"]
    assert (await store.get(moved)).receipts == ()  # type: ignore[union-attr]


async def _transactions(store: Store, database_url: str) -> int:
    """Write transactions so far: SQLite's group commits; on PostgreSQL, distinct writers of settled receipts."""
    if isinstance(store, SqliteStore):
        return store.commit_count
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        cursor = await conn.execute("SELECT count(DISTINCT xmin::text) FROM receipts WHERE state <> 'pending'")
        row = await cursor.fetchone()
    assert row is not None
    return int(row[0])


async def test_a_receipt_is_settled_once(store: Store) -> None:
    await store.add_receipts([receipt("h1")], now=T0)
    [claimed] = await store.claim_receipts(now=T0, limit=1, lease=60)
    assert await store.settle_receipts([(claimed.id, Settlement(state="unmatched"))], now=T0 + 1) == [None]

    again, unknown = await store.settle_receipts(
        [(claimed.id, Settlement(state="unmatched")), (10_000, Settlement(state="unmatched"))], now=T0 + 2
    )
    assert isinstance(again, StaleTransition)
    assert isinstance(unknown, KeyError)
    assert await store.settle_receipts([], now=T0 + 2) == []


async def test_a_progress_receipt_adds_an_event_in_the_current_status(store: Store) -> None:
    message_id = await accepted(store)
    await store.add_receipts([receipt("e1", vendor="nhn", outcome="progress", correlation_id=message_id)], now=T0)
    [claimed] = await store.claim_receipts(now=T0, limit=1, lease=60)

    settlement = Settlement(state="progress", message_id=message_id, reason="handed to the carrier")
    assert await store.settle_receipts([(claimed.id, settlement)], now=T0 + 3) == [None]
    detail = await store.get(message_id)

    assert detail is not None
    assert detail.record.status == Status.ACCEPTED
    assert detail.record.updated_at == T0
    assert detail.events[-1] == Event(at=T0 + 3, status=Status.ACCEPTED, reason="handed to the carrier")
    assert [r.state for r in detail.receipts] == ["progress"]
    assert await store.claim_feedback(now=T0 + 3, limit=10, lease=60) == []


async def test_expire_accepted_moves_only_the_channel_s_old_accepted_messages(store: Store) -> None:
    old = [await accepted(store, at=T0 + n, vendor_id=f"r{n}") for n in range(3)]
    recent = await accepted(store, at=T0 + 100)
    lms = await accepted(store, new_message(channel="lms"), at=T0)
    queued = new_message()
    await store.add(queued, idempotency_window=WINDOW)

    first = await store.expire_accepted("kakao", T0 + 50, "no receipt", now=T0 + 200, limit=2, feedback=True)
    rest = await store.expire_accepted("kakao", T0 + 50, "no receipt", now=T0 + 201, limit=10, feedback=False)

    assert (first, rest) == (old[:2], old[2:])
    statuses = {m: (await store.get(m)).record.status for m in [*old, recent, lms, queued.id]}  # type: ignore[union-attr]
    assert statuses == {
        **dict.fromkeys(old, Status.UNKNOWN),
        recent: Status.ACCEPTED,
        lms: Status.ACCEPTED,
        queued.id: Status.QUEUED,
    }
    detail = await store.get(old[0])
    assert detail is not None
    assert detail.events[-1] == Event(at=T0 + 200, status=Status.UNKNOWN, reason="no receipt")
    feedback = await store.claim_feedback(now=T0 + 300, limit=10, lease=60)
    assert sorted((f.record.id, f.state) for f in feedback) == [(m, Status.UNKNOWN) for m in sorted(old[:2])]


async def test_result_polls_take_accepted_nhn_emails_once_per_interval(store: Store) -> None:
    nhn = await accepted(store, email(), at=T0)
    later = await accepted(store, email(), at=T0 + 30)
    await accepted(store, email(vendor="sendgrid"), at=T0)
    await accepted(store, at=T0)

    too_early = await store.claim_result_polls(vendor="nhn", channel="email", now=T0 + 59, interval=60, limit=10)
    first = await store.claim_result_polls(vendor="nhn", channel="email", now=T0 + 60, interval=60, limit=10)
    same_time = await store.claim_result_polls(vendor="nhn", channel="email", now=T0 + 60, interval=60, limit=10)
    both = await store.claim_result_polls(vendor="nhn", channel="email", now=T0 + 120, interval=60, limit=10)

    assert too_early == []
    assert [m.id for m in first] == [nhn]
    assert same_time == []
    assert [m.id for m in both] == [later, nhn]
    assert await store.claim_result_polls(vendor="nhn", channel="email", now=T0 + 180, interval=60, limit=1) != []


async def test_result_polls_are_per_vendor_and_channel(store: Store) -> None:
    sens = await accepted(store, new_message(channel="lms", vendor="ncp", buttons=(), fallback="none"), at=T0)
    await accepted(store, email(), at=T0)

    polled = await store.claim_result_polls(vendor="ncp", channel="lms", now=T0 + 60, interval=60, limit=10)

    assert [m.id for m in polled] == [sens]
    assert await store.claim_result_polls(vendor="ncp", channel="email", now=T0 + 60, interval=60, limit=10) == []


async def test_feedback_is_queued_once_per_state_and_retried_until_sent(store: Store) -> None:
    message_id = await accepted(store)
    await store.transition(message_id, Status.FALLBACK, "fell back", now=T0, report=Report("3018"))
    await store.transition(message_id, Status.FALLBACK, "again", now=T0 + 1, report=Report("3019"))
    await store.transition(message_id, Status.DEAD, "replayed, then dead", now=T0 + 2, report=Report(None))

    claimed = await store.claim_feedback(now=T0 + 2, limit=10, lease=60)
    hidden = await store.claim_feedback(now=T0 + 3, limit=10, lease=60)
    await store.feedback_sent([claimed[0].id], now=T0 + 4)
    await store.feedback_failed([claimed[1].id], next_try_at=T0 + 30)
    retried = await store.claim_feedback(now=T0 + 30, limit=10, lease=60)

    assert [(f.state, f.code) for f in claimed] == [(Status.FALLBACK, "3018"), (Status.DEAD, None)]
    assert hidden == []
    assert [f.id for f in retried] == [claimed[1].id]


async def test_a_message_falls_back_once_and_only_from_the_expected_status(store: Store) -> None:
    message_id = await accepted(store)
    first_child = new_message(channel="lms")

    with pytest.raises(StaleTransition):
        await store.link_fallback(message_id, first_child, "3018", now=T0 + 1, expect=frozenset({Status.SENDING}))
    await store.link_fallback(message_id, first_child, "3018", now=T0 + 2, expect=TERMINAL)
    with pytest.raises(StaleTransition):
        await store.link_fallback(message_id, new_message(channel="lms"), "3019", now=T0 + 3)

    detail = await store.get(message_id)
    assert detail is not None
    assert (detail.record.status, detail.record.child_id) == (Status.FALLBACK, first_child.id)
    assert await store.count_by_status() == {Status.FALLBACK: 1, Status.QUEUED: 1}


async def test_a_receipt_can_send_its_message_again_at_a_given_time(store: Store) -> None:
    message_id = await accepted(store)
    await store.add_receipts([receipt("k1", outcome="failed", correlation_id=message_id, code="9999")], now=T0)
    [claimed] = await store.claim_receipts(now=T0, limit=1, lease=60)
    settlement = Settlement(
        state="applied",
        message_id=message_id,
        status=Status.RETRYING,
        expect=TERMINAL,
        reason="sending again",
        next_attempt_at=T0 + 600,
    )

    assert await store.settle_receipts([(claimed.id, settlement)], now=T0 + 5) == [None]

    assert await store.claim(now=T0 + 599, limit=1, lease=60) == []
    [again] = await store.claim(now=T0 + 600, limit=1, lease=60)
    assert (again.id, again.status) == (message_id, Status.SENDING)


async def test_a_settlement_without_feedback_queues_none(store: Store) -> None:
    message_id = await accepted(store)
    await store.add_receipts([receipt("f1", correlation_id=message_id)], now=T0)
    [claimed] = await store.claim_receipts(now=T0, limit=1, lease=60)
    settlement = Settlement(
        state="applied", message_id=message_id, status=Status.DELIVERED, expect=TERMINAL, reason="delivered"
    )

    assert await store.settle_receipts([(claimed.id, settlement)], now=T0 + 1) == [None]

    assert await store.claim_feedback(now=T0 + 1, limit=10, lease=60) == []


async def test_a_final_transition_queues_its_braze_report_in_the_same_transaction(store: Store) -> None:
    dead = new_message()
    stale = new_message()
    for new in (dead, stale):
        await store.add(new, idempotency_window=WINDOW)
    await store.claim(now=T0, limit=1, lease=60)

    await store.transition(
        dead.id, Status.DEAD, "rejected", now=T0 + 1, expect=frozenset({Status.SENDING}), report=Report("-3006")
    )
    with pytest.raises(StaleTransition):  # still queued: neither the move nor its report is written
        await store.transition(
            stale.id, Status.DEAD, "rejected", now=T0 + 1, expect=frozenset({Status.SENDING}), report=Report(None)
        )

    [reported] = await store.claim_feedback(now=T0 + 1, limit=10, lease=60)
    assert (reported.record.id, reported.state, reported.code) == (dead.id, Status.DEAD, "-3006")


async def test_a_fallback_queues_the_parent_s_braze_report_with_the_link(store: Store) -> None:
    message_id = await accepted(store)
    child = new_message(channel="lms")

    await store.link_fallback(message_id, child, "not reachable", now=T0 + 2, report=Report("3018"))

    [reported] = await store.claim_feedback(now=T0 + 2, limit=10, lease=60)
    assert (reported.record.id, reported.state, reported.code) == (message_id, Status.FALLBACK, "3018")
