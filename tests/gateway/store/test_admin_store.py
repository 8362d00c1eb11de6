"""The support console's store operations, on both backends: replay, window counts, failures, audit, purge, erasure."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.models import Attempt, AttemptOutcome, BrazeContext, Receipt, ReceiptOutcome, Status
from gateway.store import MessageFilter, Store
from gateway.store.base import Settlement
from gateway.store.rows_admin import ERASED
from gateway.store.types_admin import AuditEntry, FailureCount, WindowCount
from tests.gateway.store.factory import T0, new_message

WINDOW = 24 * 3600.0
_SENDING = frozenset({Status.SENDING})


async def _sent(store: Store, status: Status, *, created_at: float = T0, vendor: str = "nhn", **fields: Any) -> str:
    """Add a message and move it through ``sending`` to ``status`` with one accepted attempt.

    Nothing else may be due: the claim takes the oldest due message.
    """
    new = new_message(created_at=created_at, vendor=vendor, **fields)
    await store.add(new, idempotency_window=WINDOW)
    await store.claim(now=created_at, limit=1, lease=60)
    attempt = _attempt(created_at, "accepted", "200")
    request: dict[str, object] = {
        "method": "POST",
        "url": "https://vendor/send",
        "headers": {},
        "body": {"to": new.message.phone},
    }
    await store.transition(
        new.id, status, "sent", now=created_at, expect=_SENDING, attempt=attempt, vendor_request=request
    )
    return new.id


def _receipt(event_id: str, message_id: str, outcome: ReceiptOutcome, code: str) -> Receipt:
    return Receipt(
        vendor="nhn", event_id=event_id, outcome=outcome, correlation_id=message_id, code=code, detail="not reachable"
    )


def _attempt(started_at: float, outcome: AttemptOutcome, code: str | None, detail: str = "") -> Attempt:
    return Attempt(number=1, started_at=started_at, duration_ms=5.0, outcome=outcome, vendor_code=code, detail=detail)


async def test_replay_requeues_final_messages_with_a_fresh_budget(store: Store) -> None:
    dead = await _sent(store, Status.DEAD)
    waiting = new_message()
    await store.add(waiting, idempotency_window=WINDOW)

    moved = await store.replay([dead, waiting.id, "no-such-id"], "replayed by bo", now=T0 + 500)

    assert moved == [dead]
    detail = await store.get(dead)
    assert detail is not None
    assert detail.record.status is Status.QUEUED
    assert detail.record.next_attempt_at == T0 + 500
    assert detail.record.replayed_at == detail.record.budget_start == T0 + 500
    assert detail.events[-1].reason == "replayed by bo"
    assert [m.id for m in await store.claim(now=T0 + 500, limit=5, lease=60)] == [waiting.id, dead]


async def test_replay_of_nothing_moves_nothing(store: Store) -> None:
    assert await store.replay([], "replayed", now=T0) == []


async def test_window_counts_group_by_status_channel_and_vendor_within_the_window(store: Store) -> None:
    await _sent(store, Status.DEAD, created_at=T0)
    await _sent(store, Status.DEAD, created_at=T0 + 10)
    await _sent(store, Status.DELIVERED, created_at=T0 + 20, vendor="solapi")
    await _sent(store, Status.DELIVERED, created_at=T0 + 100)  # at the window's end: outside

    counts = await store.window_counts(created_from=T0, created_to=T0 + 100)

    assert sorted(counts, key=lambda c: c.vendor) == [
        WindowCount(Status.DEAD, "kakao", "nhn", 2),
        WindowCount(Status.DELIVERED, "kakao", "solapi", 1),
    ]


async def test_failures_by_code_counts_failed_attempts_by_vendor_and_code(store: Store) -> None:
    nhn = new_message()
    solapi = new_message(vendor="solapi")
    for new in (nhn, solapi):
        await store.add(new, idempotency_window=WINDOW)
    await store.claim(now=T0, limit=2, lease=60)
    for started, code in ((T0 + 1, "-3006"), (T0 + 2, "-3006"), (T0 + 3, "-9999"), (T0 + 4, None)):
        await store.record_attempt(nhn.id, _attempt(started, "permanent", code, f"detail {code}"), "x", now=started)
    await store.record_attempt(solapi.id, _attempt(T0 + 5, "retryable", "-3006", "other vendor"), "x", now=T0)
    await store.record_attempt(nhn.id, _attempt(T0 + 6, "accepted", "0"), "x", now=T0)
    await store.record_attempt(nhn.id, _attempt(T0 - 1, "permanent", "-3006"), "x", now=T0)  # before the window

    failures = await store.failures_by_code(since=T0, until=T0 + 60, limit=3)

    assert failures[0] == FailureCount(
        vendor="nhn", channel="kakao", code="-3006", count=2, last_at=T0 + 2, example="detail -3006"
    )
    assert len(failures) == 3
    assert {(f.vendor, f.code, f.count) for f in failures[1:]} <= {
        ("nhn", "-9999", 1),
        ("nhn", None, 1),
        ("solapi", "-3006", 1),
    }


async def test_failures_by_code_counts_the_receipts_that_reported_a_failure(store: Store) -> None:
    first = await _sent(store, Status.ACCEPTED, created_at=T0)
    second = await _sent(store, Status.ACCEPTED, created_at=T0 + 1)
    await store.add_receipts(
        [
            _receipt("h1", first, "failed", "3018"),
            _receipt("h2", second, "failed", "3018"),
            _receipt("h3", second, "delivered", "1000"),
            _receipt("h4", "no-such-message", "failed", "3018"),
        ],
        now=T0 + 5,
    )
    claimed = await store.claim_receipts(now=T0 + 10, limit=4, lease=60)
    settlements = [
        (
            stored.id,
            Settlement(state="applied", message_id=stored.receipt.correlation_id)
            if stored.receipt.correlation_id in (first, second)
            else Settlement(state="unmatched"),
        )
        for stored in claimed
    ]
    assert await store.settle_receipts(settlements, now=T0 + 10) == [None] * 4

    failures = await store.failures_by_code(since=T0, until=T0 + 60, limit=5)

    assert failures == [
        FailureCount(vendor="nhn", channel="kakao", code="3018", count=2, last_at=T0 + 5, example="not reachable")
    ]


async def test_the_audit_log_pages_newest_first(store: Store) -> None:
    for number in range(5):
        entry = AuditEntry(at=T0 + number, staff="bo", role="operator", action="reveal", target=f"m-{number}")
        await store.add_audit(entry)

    first = await store.audit_log(limit=2)
    second = await store.audit_log(limit=2, cursor=first.next_cursor)
    last = await store.audit_log(limit=2, cursor=second.next_cursor)

    assert [e.target for e in first.items + second.items + last.items] == ["m-4", "m-3", "m-2", "m-1", "m-0"]
    assert first.items[0] == AuditEntry(at=T0 + 4, staff="bo", role="operator", action="reveal", target="m-4")
    assert last.next_cursor is None


async def test_a_foreign_audit_cursor_is_a_value_error(store: Store) -> None:
    with pytest.raises(ValueError, match="invalid cursor"):
        await store.audit_log(limit=2, cursor="abc")


async def test_purge_deletes_the_oldest_messages_with_everything_attached(store: Store) -> None:
    old = [await _sent(store, Status.DELIVERED, created_at=T0 + n, key=f"old-{n}") for n in range(3)]
    young = await _sent(store, Status.DELIVERED, created_at=T0 + 100)

    assert await store.purge(created_before=T0 + 50, limit=2) == 2
    assert await store.purge(created_before=T0 + 50, limit=2) == 1
    assert await store.purge(created_before=T0 + 50, limit=2) == 0

    assert [await store.get(m) for m in old] == [None, None, None]
    assert await store.get(young) is not None
    again = await store.add(new_message(created_at=T0 + 101, key="old-0"), idempotency_window=WINDOW)
    assert again.duplicate is False  # the idempotency key went with its message


async def test_erasure_removes_contact_details_and_content_but_keeps_the_statistics(store: Store) -> None:
    braze = BrazeContext(campaign_id="c1", dispatch_id="d1")
    done = await _sent(store, Status.DELIVERED, user_id="u-gone", braze=braze, subject="제목", text="본문")
    other = await _sent(store, Status.DELIVERED, user_id="u-stays")
    waiting = new_message(user_id="u-gone", email="jane@example.com")
    await store.add(waiting, idempotency_window=WINDOW)
    before = await store.window_counts(created_from=T0, created_to=T0 + 1)

    assert await store.erase_user("u-gone", "personal data erased by bo", now=T0 + 9) == 2

    detail = await store.get(done)
    assert detail is not None
    message = detail.record.message
    assert (message.phone, message.email, message.content, message.subject, message.text) == (
        None,
        None,
        ERASED,
        ERASED,
        ERASED,
    )
    assert message.buttons == ()
    assert (message.user_id, message.braze, detail.record.status) == ("u-gone", braze, Status.DELIVERED)
    assert detail.raw_body == ERASED.encode()
    assert detail.record.vendor_request is not None
    assert detail.record.vendor_request["body"] == ERASED
    assert len(detail.attempts) == 1
    assert detail.events[-1].reason == "personal data erased by bo"
    pending = await store.get(waiting.id)
    assert pending is not None
    assert (pending.record.status, pending.record.next_attempt_at) == (Status.SUPPRESSED, None)
    assert (await store.search(MessageFilter(phone="01012345678"), limit=10)).items[0].id == other
    assert (await store.search(MessageFilter(email="jane@example.com"), limit=10)).items == []
    after = await store.window_counts(created_from=T0, created_to=T0 + 1)
    assert sum(c.count for c in after) == sum(c.count for c in before) == 3


async def test_an_erased_message_is_never_replayed(store: Store) -> None:
    erased = await _sent(store, Status.DEAD, user_id="u-gone")
    kept = await _sent(store, Status.DEAD, user_id="u-stays", created_at=T0 + 1)
    await store.erase_user("u-gone", "erased", now=T0 + 2)

    assert await store.replay([erased, kept], "replayed by bo", now=T0 + 3) == [kept]


async def test_erasing_an_unknown_user_erases_nothing(store: Store) -> None:
    assert await store.erase_user("nobody", "erased", now=T0) == 0


async def test_a_console_session_lasts_until_it_ends_or_expires(store: Store) -> None:
    await store.start_session("s1", "ann", now=T0, expires_at=T0 + 100)
    await store.start_session("s2", "bo", now=T0, expires_at=T0 + 100)
    assert await store.session_active("s1", now=T0 + 99)
    assert not await store.session_active("s1", now=T0 + 100)
    assert not await store.session_active("unknown", now=T0)

    await store.end_session("s1")
    await store.end_session("unknown")

    assert not await store.session_active("s1", now=T0)
    assert await store.session_active("s2", now=T0)


async def test_starting_a_session_deletes_the_expired_ones(store: Store) -> None:
    await store.start_session("old", "ann", now=T0, expires_at=T0 + 10)
    await store.start_session("new", "ann", now=T0 + 20, expires_at=T0 + 30)
    # Still refused when the clock is put back: the expired row is gone, not only out of date.
    assert not await store.session_active("old", now=T0)
    assert await store.session_active("new", now=T0 + 20)


async def test_a_note_adds_a_timeline_event_and_changes_nothing_else(store: Store) -> None:
    dead = await _sent(store, Status.DEAD)
    before = await store.get(dead)

    assert await store.note(dead, "a repeat arrived with other content", now=T0 + 9)
    assert not await store.note("no-such-id", "nothing", now=T0 + 9)

    after = await store.get(dead)
    assert before is not None
    assert after is not None
    assert after.record == before.record
    assert after.events[-1].status is Status.DEAD
    assert (after.events[-1].at, after.events[-1].reason) == (T0 + 9, "a repeat arrived with other content")
