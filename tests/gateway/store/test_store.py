"""The store contract (gateway/store/base.py), run against both backends."""

from __future__ import annotations

import asyncio
import sqlite3

import msgspec
import psycopg
import pytest

from gateway.models import Attempt, BrazeContext, Event, Status
from gateway.store import AddResult, MessageFilter, PostgresStore, SqliteStore, StaleTransition, Store, migrate
from gateway.store.migrator import load_migrations
from tests.gateway.store.factory import T0, StoreFactory, new_message

WINDOW = 24 * 3600.0


def _attempt(number: int, outcome: str = "retryable", **fields: object) -> Attempt:
    return Attempt(number=number, started_at=T0 + number, duration_ms=12.5, outcome=outcome, **fields)  # type: ignore[arg-type]


async def test_add_then_get_round_trips_every_field(store: Store) -> None:
    raw = '{"content": "서포터님 ✨"}'.encode() + b"\xff\x00 not utf-8"
    new = new_message(
        raw_body=raw,
        subject="제목",
        image_url="https://img.example/a.png",
        braze=BrazeContext(campaign_id="c1", campaign_name="실시간 베스트", dispatch_id="d1", canvas_id="cv1"),
        notes=("removed 1 emoji",),
    )

    result = await store.add(new, idempotency_window=WINDOW)
    detail = await store.get(new.id)

    assert (result.message_id, result.duplicate) == (new.id, False)
    assert detail is not None
    record = detail.record
    assert record.message == new.message
    assert (record.id, record.idempotency_key, record.vendor, record.status) == (
        new.id,
        new.idempotency_key,
        "nhn",
        Status.QUEUED,
    )
    assert (record.created_at, record.updated_at, record.next_attempt_at, record.attempt_count) == (T0, T0, T0, 0)
    assert (record.vendor_message_id, record.vendor_request, record.parent_id, record.child_id) == (None,) * 4
    assert detail.raw_body == raw
    assert detail.attempts == ()
    assert detail.events == (Event(at=T0, status=Status.QUEUED, reason="received"),)


async def test_get_of_an_unknown_id_is_none(store: Store) -> None:
    assert await store.get("nope") is None


async def test_a_key_seen_within_the_window_is_a_duplicate_and_writes_nothing(store: Store) -> None:
    first = new_message(key="k")
    again = new_message(key="k", created_at=T0 + WINDOW - 1)
    await store.add(first, idempotency_window=WINDOW)

    result = await store.add(again, idempotency_window=WINDOW)

    assert (result.message_id, result.duplicate) == (first.id, True)
    assert await store.get(again.id) is None
    assert await store.count_by_status() == {Status.QUEUED: 1}


async def test_a_key_older_than_the_window_is_replaced_by_the_new_message(store: Store) -> None:
    first = new_message(key="k")
    later = new_message(key="k", created_at=T0 + WINDOW + 1)
    repeat = new_message(key="k", created_at=T0 + WINDOW + 2)
    await store.add(first, idempotency_window=WINDOW)

    added = await store.add(later, idempotency_window=WINDOW)
    repeated = await store.add(repeat, idempotency_window=WINDOW)

    assert (added.message_id, added.duplicate) == (later.id, False)
    assert (repeated.message_id, repeated.duplicate) == (later.id, True)
    assert await store.count_by_status() == {Status.QUEUED: 2}


async def test_adds_in_one_batch_each_keep_their_own_window_and_repeat_the_first_of_their_key(store: Store) -> None:
    await store.add(new_message(key="old"), idempotency_window=WINDOW)
    await store.add(new_message(key="kept"), idempotency_window=WINDOW)
    later = T0 + 100
    replacing = new_message(key="old", created_at=later)
    kept = new_message(key="kept", created_at=later)
    fresh = new_message(key="new", created_at=later)
    again = new_message(key="new", created_at=later)

    results = await asyncio.gather(
        store.add(replacing, idempotency_window=50),
        store.add(kept, idempotency_window=WINDOW),
        store.add(fresh, idempotency_window=WINDOW),
        store.add(again, idempotency_window=50),
    )

    assert results[0] == AddResult(replacing.id, duplicate=False)
    assert results[1].duplicate
    assert results[1].message_id != kept.id
    assert list(results[2:]) == [AddResult(fresh.id, duplicate=False), AddResult(fresh.id, duplicate=True)]
    assert await store.count_by_status() == {Status.QUEUED: 4}


async def test_concurrent_adds_of_one_key_store_one_message(store: Store) -> None:
    news = [new_message(key="same") for _ in range(20)]

    results = await asyncio.gather(*(store.add(new, idempotency_window=WINDOW) for new in news))

    assert len({result.message_id for result in results}) == 1
    assert sum(not result.duplicate for result in results) == 1
    assert await store.count_by_status() == {Status.QUEUED: 1}


async def test_concurrent_adds_share_commits(store: Store) -> None:
    assert isinstance(store, SqliteStore | PostgresStore)
    news = [new_message() for _ in range(200)]
    before = store.commit_count

    results = await asyncio.gather(*(store.add(new, idempotency_window=WINDOW) for new in news))

    assert [result.message_id for result in results] == [new.id for new in news]
    assert store.commit_count - before <= 10
    assert await store.count_by_status() == {Status.QUEUED: 200}


async def test_a_failing_write_fails_alone_in_its_batch(store: Store) -> None:
    taken = new_message()
    await store.add(taken, idempotency_window=WINDOW)
    same_id = msgspec.structs.replace(new_message(), id=taken.id)
    fine = [new_message() for _ in range(5)]

    results = await asyncio.gather(
        store.add(same_id, idempotency_window=WINDOW),
        store.transition(taken.id, Status.DEAD, "x", now=T0, expect=frozenset({Status.SENDING})),
        *(store.add(new, idempotency_window=WINDOW) for new in fine),
        return_exceptions=True,
    )

    assert isinstance(results[0], sqlite3.IntegrityError | psycopg.IntegrityError)
    assert isinstance(results[1], StaleTransition)
    assert results[2:] == [AddResult(new.id, duplicate=False) for new in fine]
    assert await store.count_by_status() == {Status.QUEUED: 6}


async def test_claim_takes_due_messages_oldest_first_up_to_the_limit(store: Store) -> None:
    late = new_message(next_attempt_at=T0 + 30)
    oldest = new_message(status=Status.RETRYING, next_attempt_at=T0 + 10)
    held = new_message(status=Status.HELD, next_attempt_at=T0 + 20)
    future = new_message(next_attempt_at=T0 + 500)
    done = new_message(status=Status.DELIVERED, next_attempt_at=T0)
    for new in (late, oldest, held, future, done):
        await store.add(new, idempotency_window=WINDOW)

    first = await store.claim(now=T0 + 100, limit=2, lease=60)
    rest = await store.claim(now=T0 + 100, limit=10, lease=60)

    assert [m.id for m in first] == [oldest.id, held.id]
    assert [m.id for m in rest] == [late.id]
    assert {m.status for m in first + rest} == {Status.SENDING}
    assert await store.count_by_status() == {Status.SENDING: 3, Status.QUEUED: 1, Status.DELIVERED: 1}


async def test_claim_skips_the_excluded_vendor_channels_only(store: Store) -> None:
    nhn_kakao = new_message(vendor="nhn")
    nhn_lms = new_message(vendor="nhn", channel="lms")
    solapi = new_message(vendor="solapi")
    sendgrid = new_message(vendor="sendgrid", channel="email", email="j@example.com", phone=None)
    for new in (nhn_kakao, nhn_lms, solapi, sendgrid):
        await store.add(new, idempotency_window=WINDOW)

    paused = frozenset({("nhn", "kakao"), ("sendgrid", "email")})
    claimed = await store.claim(now=T0, limit=10, lease=60, exclude=paused)

    assert sorted(m.id for m in claimed) == sorted([nhn_lms.id, solapi.id])


async def test_an_expired_lease_is_claimed_again_in_due_order(store: Store) -> None:
    crashed = new_message(next_attempt_at=T0)
    await store.add(crashed, idempotency_window=WINDOW)
    await store.claim(now=T0, limit=1, lease=30)
    queued = new_message(next_attempt_at=T0 + 40)
    await store.add(queued, idempotency_window=WINDOW)

    during_lease = await store.claim(now=T0 + 29, limit=10, lease=30)
    after_lease = await store.claim(now=T0 + 60, limit=10, lease=30)

    assert during_lease == []
    # The lease ran out at T0 + 30, before the queued message fell due at T0 + 40.
    assert [m.id for m in after_lease] == [crashed.id, queued.id]


async def test_a_renewed_lease_is_not_claimed_by_another_process(store: Store, make_store: StoreFactory) -> None:
    held, done = new_message(), new_message()
    for new in (held, done):
        await store.add(new, idempotency_window=WINDOW)
    await store.claim(now=T0, limit=2, lease=20)
    await store.transition(done.id, Status.ACCEPTED, "sent", now=T0 + 1)
    other = await make_store()

    renewed = await store.renew_leases([held.id, done.id, "unknown-id"], until=T0 + 35)

    assert renewed == 1  # only what is still sending
    assert await other.claim(now=T0 + 30, limit=10, lease=20) == []
    assert [m.id for m in await other.claim(now=T0 + 36, limit=10, lease=20)] == [held.id]
    assert (await store.get(done.id)).record.status is Status.ACCEPTED  # type: ignore[union-attr]


async def test_a_send_mark_survives_a_takeover_and_is_cleared_by_the_answer(store: Store) -> None:
    new = new_message()
    await store.add(new, idempotency_window=WINDOW)
    await store.claim(now=T0, limit=1, lease=20)
    await store.begin_send(new.id, now=T0 + 1)

    [again] = await store.claim(now=T0 + 30, limit=1, lease=20)  # its process died mid-call
    assert again.send_started_at == T0 + 1
    assert again.uncertain

    await store.record_attempt(new.id, _attempt(1), "attempt 1 failed; retrying", now=T0 + 31)
    assert not (await store.get(new.id)).record.uncertain  # type: ignore[union-attr]
    await store.begin_send(new.id, now=T0 + 32)
    await store.transition(new.id, Status.ACCEPTED, "accepted", now=T0 + 33, attempt=_attempt(2, "accepted"))
    assert (await store.get(new.id)).record.send_started_at is None  # type: ignore[union-attr]


async def test_an_uncertain_send_keeps_its_mark_in_unknown_until_a_replay(store: Store) -> None:
    new = new_message()
    await store.add(new, idempotency_window=WINDOW)
    await store.claim(now=T0, limit=1, lease=20)
    await store.begin_send(new.id, now=T0 + 1)
    await store.claim(now=T0 + 30, limit=1, lease=20)

    await store.transition(new.id, Status.UNKNOWN, "uncertain send", now=T0 + 31, expect=frozenset({Status.SENDING}))
    assert (await store.get(new.id)).record.send_started_at == T0 + 1  # type: ignore[union-attr]

    assert await store.replay([new.id], "replayed by staff", now=T0 + 40) == [new.id]
    assert not (await store.get(new.id)).record.uncertain  # type: ignore[union-attr]


async def test_begin_send_marks_only_a_message_being_sent(store: Store) -> None:
    new = new_message()
    await store.add(new, idempotency_window=WINDOW)
    await store.begin_send(new.id, now=T0)
    assert (await store.get(new.id)).record.send_started_at is None  # type: ignore[union-attr]


async def test_concurrent_claimers_never_get_the_same_message(store: Store, make_store: StoreFactory) -> None:
    news = [new_message(next_attempt_at=T0 + i) for i in range(120)]
    for new in news:
        await store.add(new, idempotency_window=WINDOW)
    claimers = [store, *[await make_store() for _ in range(3)]]

    async def drain(claimer: Store) -> list[str]:
        taken: list[str] = []
        while batch := await claimer.claim(now=T0 + 1000, limit=7, lease=60):
            taken.extend(m.id for m in batch)
        return taken

    results = await asyncio.gather(*(drain(claimer) for claimer in claimers))

    everything = [message_id for taken in results for message_id in taken]
    assert sorted(everything) == sorted(new.id for new in news)
    assert len(set(everything)) == len(everything)


async def test_transition_records_attempt_and_event_and_clears_the_lease(store: Store) -> None:
    new = new_message()
    await store.add(new, idempotency_window=WINDOW)
    await store.claim(now=T0, limit=1, lease=60)
    request: dict[str, object] = {
        "method": "POST",
        "url": "https://vendor.example/send",
        "headers": {},
        "body": {"content": "안녕"},
    }

    await store.transition(
        new.id,
        Status.RETRYING,
        "HTTP 503",
        now=T0 + 1,
        expect=frozenset({Status.SENDING}),
        attempt=_attempt(1, http_status=503),
        next_attempt_at=T0 + 120,
        vendor_request=request,
    )
    await store.claim(now=T0 + 120, limit=1, lease=60)
    await store.transition(
        new.id, Status.ACCEPTED, "accepted", now=T0 + 121, attempt=_attempt(2, "accepted"), vendor_message_id="v-1"
    )
    await store.transition(new.id, Status.DELIVERED, "receipt 1000", now=T0 + 200)
    detail = await store.get(new.id)

    assert detail is not None
    record = detail.record
    assert (record.status, record.attempt_count, record.next_attempt_at, record.updated_at) == (
        Status.DELIVERED,
        2,
        None,
        T0 + 200,
    )
    assert (record.vendor_message_id, record.vendor_request) == ("v-1", request)
    assert detail.attempts == (_attempt(1, http_status=503), _attempt(2, "accepted"))
    assert [(e.at, e.status, e.reason) for e in detail.events] == [
        (T0, Status.QUEUED, "received"),
        (T0 + 1, Status.RETRYING, "HTTP 503"),
        (T0 + 121, Status.ACCEPTED, "accepted"),
        (T0 + 200, Status.DELIVERED, "receipt 1000"),
    ]
    # Cleared lease: nothing is due any more.
    assert await store.claim(now=T0 + 10_000, limit=10, lease=60) == []


async def test_transition_keeps_next_attempt_at_only_when_given(store: Store) -> None:
    new = new_message()
    await store.add(new, idempotency_window=WINDOW)

    await store.transition(new.id, Status.HELD, "quiet hours", now=T0, next_attempt_at=T0 + 3600)
    held = await store.claim(now=T0 + 3599, limit=1, lease=60)
    due = await store.claim(now=T0 + 3600, limit=1, lease=60)

    assert held == []
    assert [m.id for m in due] == [new.id]


async def test_transition_from_an_unexpected_state_raises_and_changes_nothing(store: Store) -> None:
    new = new_message()
    await store.add(new, idempotency_window=WINDOW)

    with pytest.raises(StaleTransition):
        await store.transition(
            new.id, Status.ACCEPTED, "accepted", now=T0 + 1, expect=frozenset({Status.SENDING}), attempt=_attempt(1)
        )
    detail = await store.get(new.id)

    assert detail is not None
    assert (detail.record.status, detail.record.attempt_count, len(detail.events), detail.attempts) == (
        Status.QUEUED,
        0,
        1,
        (),
    )


async def test_writes_to_an_unknown_message_raise_key_error(store: Store) -> None:
    with pytest.raises(KeyError):
        await store.transition("nope", Status.DEAD, "gone", now=T0)
    with pytest.raises(KeyError):
        await store.record_attempt("nope", _attempt(1), "retry", now=T0)
    with pytest.raises(KeyError):
        await store.link_fallback("nope", new_message(channel="lms"), "kakao failed", now=T0)
    assert await store.count_by_status() == {}


async def test_record_attempt_keeps_the_status_and_the_lease(store: Store) -> None:
    new = new_message()
    await store.add(new, idempotency_window=WINDOW)
    await store.claim(now=T0, limit=1, lease=60)

    await store.record_attempt(new.id, _attempt(1, http_status=429), "HTTP 429, retrying in 2 s", now=T0 + 1)
    detail = await store.get(new.id)

    assert detail is not None
    assert (detail.record.status, detail.record.attempt_count) == (Status.SENDING, 1)
    assert detail.attempts == (_attempt(1, http_status=429),)
    assert detail.events[-1] == Event(at=T0 + 1, status=Status.SENDING, reason="HTTP 429, retrying in 2 s")
    assert await store.claim(now=T0 + 59, limit=1, lease=60) == []


async def test_record_attempt_keeps_the_request_as_sent(store: Store) -> None:
    new = new_message()
    await store.add(new, idempotency_window=WINDOW)
    await store.claim(now=T0, limit=1, lease=60)
    sent: dict[str, object] = {
        "method": "POST",
        "url": "https://vendor.example/send",
        "headers": {},
        "body": {"content": "안녕"},
    }

    await store.record_attempt(new.id, _attempt(1), "attempt 1 failed", now=T0 + 1, vendor_request=sent)
    await store.record_attempt(new.id, _attempt(2), "attempt 2 failed", now=T0 + 2)
    detail = await store.get(new.id)

    assert detail is not None
    assert detail.record.vendor_request == sent


async def test_count_by_status_counts_each_status(store: Store) -> None:
    for status in (Status.QUEUED, Status.QUEUED, Status.HELD, Status.DEAD):
        await store.add(new_message(status=status), idempotency_window=WINDOW)

    assert await store.count_by_status() == {Status.QUEUED: 2, Status.HELD: 1, Status.DEAD: 1}
    assert await store.count_by_status(frozenset({Status.QUEUED, Status.DEAD, Status.SENDING})) == {
        Status.QUEUED: 2,
        Status.DEAD: 1,
    }


async def test_link_fallback_adds_the_child_and_links_both_ways(store: Store) -> None:
    parent = new_message()
    await store.add(parent, idempotency_window=WINDOW)
    await store.claim(now=T0, limit=1, lease=60)
    child = new_message(channel="lms", content="(광고) 와디즈\n지금 확인하기: https://wadiz.kr/\n무료거부 0801234567")

    await store.link_fallback(parent.id, child, "3019 not a KakaoTalk user", now=T0 + 5)
    parent_detail = await store.get(parent.id)
    child_detail = await store.get(child.id)

    assert parent_detail is not None
    assert child_detail is not None
    assert (parent_detail.record.status, parent_detail.record.child_id) == (Status.FALLBACK, child.id)
    assert parent_detail.events[-1] == Event(at=T0 + 5, status=Status.FALLBACK, reason="3019 not a KakaoTalk user")
    assert (child_detail.record.status, child_detail.record.parent_id) == (Status.QUEUED, parent.id)
    assert child_detail.record.message == child.message
    assert [m.id for m in await store.claim(now=T0 + 5, limit=10, lease=60)] == [child.id]


async def test_search_applies_every_filter_and_combines_them(store: Store) -> None:
    base = new_message(user_id="u-a", braze=BrazeContext(campaign_id="c-a", dispatch_id="d-a"))
    other_user = new_message(user_id="u-b", phone="01099998888", braze=BrazeContext(campaign_id="c-a"))
    email = new_message(
        channel="email",
        vendor="sendgrid",
        phone=None,
        email="j@example.com",
        user_id="u-a",
        braze=BrazeContext(dispatch_id="d-b"),
    )
    dead = new_message(status=Status.DEAD, vendor="solapi", user_id="u-c", created_at=T0 + 100)
    for new in (base, other_user, email, dead):
        await store.add(new, idempotency_window=WINDOW)

    async def ids(**criteria: object) -> set[str]:
        page = await store.search(MessageFilter(**criteria), limit=50)  # type: ignore[arg-type]
        return {m.id for m in page.items}

    assert await ids() == {base.id, other_user.id, email.id, dead.id}
    assert await ids(user_id="u-a") == {base.id, email.id}
    assert await ids(phone="01099998888") == {other_user.id}
    assert await ids(email="j@example.com") == {email.id}
    assert await ids(campaign_id="c-a") == {base.id, other_user.id}
    assert await ids(dispatch_id="d-b") == {email.id}
    assert await ids(status=Status.DEAD) == {dead.id}
    assert await ids(channel="email") == {email.id}
    assert await ids(vendor="solapi") == {dead.id}
    assert await ids(created_from=T0 + 100) == {dead.id}
    assert await ids(created_to=T0 + 100) == {base.id, other_user.id, email.id}
    assert await ids(user_id="u-a", channel="kakao") == {base.id}
    assert await ids(user_id="u-a", campaign_id="c-a", dispatch_id="d-b") == set()


async def test_search_pages_newest_first_with_a_cursor(store: Store) -> None:
    # Three messages share each second, so the order falls back to the id within a second.
    news = [new_message(created_at=T0 + i // 3) for i in range(25)]
    for new in news:
        await store.add(new, idempotency_window=WINDOW)
    expected = [new.id for new in sorted(news, key=lambda n: (n.created_at, n.id), reverse=True)]

    pages = [await store.search(MessageFilter(), limit=10)]
    while (cursor := pages[-1].next_cursor) is not None:
        pages.append(await store.search(MessageFilter(), limit=10, cursor=cursor))

    assert [len(page.items) for page in pages] == [10, 10, 5]
    assert [m.id for page in pages for m in page.items] == expected


async def test_search_with_a_filter_pages_within_the_filter(store: Store) -> None:
    mine = [new_message(user_id="me", created_at=T0 + i) for i in range(5)]
    for i, new in enumerate(mine):
        await store.add(new, idempotency_window=WINDOW)
        await store.add(new_message(created_at=T0 + i), idempotency_window=WINDOW)

    first = await store.search(MessageFilter(user_id="me"), limit=3)
    second = await store.search(MessageFilter(user_id="me"), limit=3, cursor=first.next_cursor)

    assert [m.id for m in first.items + second.items] == [new.id for new in reversed(mine)]
    assert second.next_cursor is None


async def test_search_rejects_a_cursor_it_did_not_make(store: Store) -> None:
    with pytest.raises(ValueError, match="cursor"):
        await store.search(MessageFilter(), limit=10, cursor="not-a-cursor")


async def test_an_added_message_is_readable_through_a_fresh_connection(store: Store, make_store: StoreFactory) -> None:
    new = new_message()
    await store.add(new, idempotency_window=WINDOW)

    fresh = await make_store()

    detail = await fresh.get(new.id)
    assert detail is not None
    assert detail.record.message == new.message


async def test_opening_twice_applies_nothing_twice(store: Store, make_store: StoreFactory, database_url: str) -> None:
    await store.add(new_message(), idempotency_window=WINDOW)

    await make_store()

    assert await migrate(database_url) == []
    assert await store.count_by_status() == {Status.QUEUED: 1}


async def test_migrate_applies_every_migration_once_even_when_run_at_once(database_url: str) -> None:
    results = await asyncio.gather(*(migrate(database_url) for _ in range(3)))

    assert sorted(results) == [[], [], [m.id for m in load_migrations("sqlite")]]


async def test_ping_answers_while_open(store: Store) -> None:
    assert await store.ping() is True
    await store.close()
    assert await store.ping() is False
