"""Refused ingests in the store, on both backends: kept, searched, counted, erased with the user, purged."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.models import BrazeContext
from gateway.normalise.errors import FieldError
from gateway.refusals import Refusal
from gateway.store import MessageFilter, Store
from gateway.store.rows_admin import ERASED
from tests.gateway.store.factory import T0, new_message


def _refusal(number: int, *, at: float = T0, **fields: Any) -> Refusal:
    values: dict[str, Any] = {
        "http_status": 422,
        "detail": "1 field is invalid.",
        "errors": (FieldError("phone", "missing"),),
        "user_id": "u-1",
        "channel": "kakao",
        "phone": "01012345678",
        "braze": BrazeContext(campaign_id="c1", dispatch_id="d1", send_id="s1"),
        "content_type": "application/json",
        "body": '{"userId":"u-1","phone":"010-****-5678"}',
    }
    return Refusal(id=f"{int(at * 1000):012x}{number:016x}", at=at, **(values | fields))


async def test_a_refusal_is_kept_as_given(store: Store) -> None:
    refusal = _refusal(1, message_id="m-1", http_status=409)
    await store.add_refusal(refusal)
    assert await store.get_refusal(refusal.id) == refusal
    assert await store.get_refusal("no-such-id") is None


async def test_refusals_are_searched_newest_first_by_the_message_filters(store: Store) -> None:
    old = _refusal(1, at=T0)
    other_user = _refusal(2, at=T0 + 1, user_id="u-2", phone=None, braze=BrazeContext(dispatch_id="d2"))
    new = _refusal(3, at=T0 + 2)
    for refusal in (old, other_user, new):
        await store.add_refusal(refusal)

    page = await store.search_refusals(MessageFilter(user_id="u-1"), limit=1)
    assert [r.id for r in page.items] == [new.id]
    assert page.next_cursor is not None
    rest = await store.search_refusals(MessageFilter(user_id="u-1"), limit=1, cursor=page.next_cursor)
    assert ([r.id for r in rest.items], rest.next_cursor) == ([old.id], None)
    assert [r.id for r in (await store.search_refusals(MessageFilter(dispatch_id="d2"), limit=5)).items] == [
        other_user.id
    ]
    by_phone = await store.search_refusals(MessageFilter(phone="01012345678", created_from=T0 + 1), limit=5)
    assert [r.id for r in by_phone.items] == [new.id]
    assert await store.count_refusals(created_from=T0, created_to=T0 + 2) == 2


async def test_status_is_not_a_refusal_filter(store: Store) -> None:
    with pytest.raises(ValueError, match="status"):
        await store.search_refusals(MessageFilter(vendor="nhn"), limit=5)


async def test_erasing_a_user_erases_their_refusals_too(store: Store) -> None:
    mine, theirs = _refusal(1), _refusal(2, user_id="u-2")
    await store.add_refusal(mine)
    await store.add_refusal(theirs)

    await store.erase_user("u-1", "erased", now=T0 + 5)

    erased = await store.get_refusal(mine.id)
    assert erased is not None
    assert (erased.phone, erased.email, erased.body) == (None, None, ERASED)
    assert erased.errors == mine.errors
    assert await store.get_refusal(theirs.id) == theirs


async def test_refusals_are_purged_oldest_first_and_messages_are_untouched(store: Store) -> None:
    message = new_message(created_at=T0)
    await store.add(message, idempotency_window=60)
    refusals = [_refusal(n, at=T0 + n) for n in range(3)]
    for refusal in refusals:
        await store.add_refusal(refusal)

    assert await store.purge_refusals(created_before=T0 + 2, limit=1) == 1
    assert await store.purge_refusals(created_before=T0 + 2, limit=5) == 1
    assert [await store.get_refusal(r.id) is None for r in refusals] == [True, True, False]
    assert await store.get(message.id) is not None
