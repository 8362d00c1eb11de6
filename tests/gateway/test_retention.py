"""Retention: expired messages go in bounded batches, younger ones stay."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from gateway.app import create_app
from gateway.refusals import Refusal
from gateway.retention import DAY, RetentionPurge
from gateway.store import SqliteStore, Store
from tests.conftest import Clock, make_settings
from tests.gateway.api.messages import post_message
from tests.gateway.store.factory import T0, new_message


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = SqliteStore(str(tmp_path / "gateway.db"))
    await opened.open()
    yield opened
    await opened.close()


async def _add(store: Store, *created: float) -> list[str]:
    news = [new_message(created_at=at) for at in created]
    for new in news:
        await store.add(new, idempotency_window=60)
    return [new.id for new in news]


async def test_one_pass_deletes_at_most_a_batch_of_the_oldest(store: Store) -> None:
    old = await _add(store, *(T0 + n for n in range(3)))
    young = await _add(store, T0 + 2 * DAY)
    purge = RetentionPurge(store, 1, clock=lambda: T0 + 2 * DAY, batch_size=2)

    assert purge.cutoff == T0 + DAY
    assert await purge.run_once() == 2
    assert [await store.get(m) is None for m in old + young] == [True, True, False, False]


async def test_run_to_end_deletes_every_expired_message(store: Store) -> None:
    await _add(store, *(T0 + n for n in range(5)))
    young = await _add(store, T0 + 30 * DAY)
    purge = RetentionPurge(store, 30, clock=lambda: T0 + 31 * DAY, batch_size=2)

    assert await purge.run_to_end() == 5
    assert await purge.run_to_end() == 0
    assert await store.get(young[0]) is not None


async def test_the_dispatcher_runs_the_purge_once_a_day(tmp_path: Path) -> None:
    clock = Clock()
    app = create_app(make_settings(tmp_path, GATEWAY_RETENTION_DAYS="30"), clock=clock, start_dispatcher=False)
    async with AsyncTestClient(app) as client:
        await post_message(client)
        purge = app.state.dispatcher.duty(RetentionPurge)
        assert (purge.interval, await purge.run_once()) == (DAY, 0)
        clock.advance(30 * DAY + 1)
        assert await purge.run_once() == 1


async def test_refused_requests_expire_with_the_messages(store: Store) -> None:
    old = Refusal(id="r-old", at=T0, http_status=422, detail="1 field is invalid.")
    young = Refusal(id="r-young", at=T0 + 2 * DAY, http_status=400, detail="The body is not valid JSON.")
    for refusal in (old, young):
        await store.add_refusal(refusal)
    await _add(store, T0)

    assert await RetentionPurge(store, 1, clock=lambda: T0 + 2 * DAY).run_to_end() == 2
    assert (await store.get_refusal("r-old"), await store.get_refusal("r-young")) == (None, young)
