"""Rate limits and circuit breakers shared by several processes through the real PostgreSQL, on a fake clock.

Each "process" is its own :class:`PostgresStore` (its own connection pool) on one fresh schema.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from gateway.dispatch.limits import SharedCircuitBreaker, SharedRateLimiter
from gateway.store.postgres import PostgresStore
from tests.conftest import Clock


@pytest.fixture
async def two_stores(postgres_url: str) -> AsyncIterator[tuple[PostgresStore, PostgresStore]]:
    first, second = PostgresStore(postgres_url), PostgresStore(postgres_url)
    await first.open()
    await second.open()
    yield first, second
    await first.close()
    await second.close()


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(round(seconds, 6))


async def test_two_processes_share_one_rate_limit(two_stores: tuple[PostgresStore, PostgresStore]) -> None:
    clock, sleeps = Clock(), Sleeps()
    limiters = [SharedRateLimiter("nhn_sms", 10, store, burst=1, clock=clock, sleep=sleeps) for store in two_stores]

    await asyncio.gather(*(limiter.acquire() for limiter in limiters for _ in range(5)))

    # Ten calls at 10/s with no burst: one at once, then one slot every 0.1 s across both processes.
    assert sorted(sleeps.waits) == [round(0.1 * n, 6) for n in range(1, 10)]


async def test_a_shared_limit_restores_its_burst_after_a_quiet_spell(
    two_stores: tuple[PostgresStore, PostgresStore],
) -> None:
    clock, sleeps = Clock(), Sleeps()
    first, second = (
        SharedRateLimiter("solapi", 100, store, burst=10, clock=clock, sleep=sleeps) for store in two_stores
    )
    for _ in range(10):
        await first.acquire()
    await second.acquire()
    assert sleeps.waits == [0.01]  # the eleventh call in the same instant waits, whichever process makes it
    clock.advance(60)
    sleeps.waits.clear()
    for _ in range(5):
        await second.acquire()
    for _ in range(5):
        await first.acquire()
    assert sleeps.waits == []


async def test_shared_limits_are_per_product(two_stores: tuple[PostgresStore, PostgresStore]) -> None:
    clock, sleeps = Clock(), Sleeps()
    first = SharedRateLimiter("nhn_kakao", 1, two_stores[0], burst=1, clock=clock, sleep=sleeps)
    second = SharedRateLimiter("nhn_sms", 1, two_stores[1], burst=1, clock=clock, sleep=sleeps)
    await first.acquire()
    await second.acquire()
    assert sleeps.waits == []


async def test_a_breaker_opened_by_one_process_pauses_the_other(
    two_stores: tuple[PostgresStore, PostgresStore],
) -> None:
    clock = Clock()
    first, second = (
        SharedCircuitBreaker("nhn_kakao", store, threshold=3, cooldown=30, clock=clock) for store in two_stores
    )
    await first.record(transient_failure=True)
    await second.record(transient_failure=True)
    await first.record(transient_failure=True)  # the third failure in a row, across both
    assert first.state() == "open"

    limiter = SharedRateLimiter("nhn_kakao", 1000, two_stores[1], on_gate=second.seen, clock=clock, sleep=Sleeps())
    await limiter.acquire()  # any reservation brings the news
    assert second.state() == "open"
    assert second.paused()
    assert await second.admit() == "open"


async def test_half_open_admits_one_probe_across_processes(two_stores: tuple[PostgresStore, PostgresStore]) -> None:
    clock = Clock()
    first, second = (
        SharedCircuitBreaker("nhn_sms", store, threshold=1, cooldown=30, probe_lease=10, clock=clock)
        for store in two_stores
    )
    await first.record(transient_failure=True)
    clock.advance(30)
    second.seen((await two_stores[1].gate_rows())["nhn_sms"])

    admissions = await asyncio.gather(*(breaker.admit() for breaker in (first, second) for _ in range(4)))

    assert sorted(admissions) == ["open"] * 7 + ["probe"]
    prober = first if "probe" in admissions[:4] else second
    await prober.record(transient_failure=True, probe=True)  # still failing: open for another cooldown
    assert prober.state() == "open"
    clock.advance(30)
    assert await first.admit() == "probe"
    clock.advance(10)  # that probe's process died: its lease ends and another process may probe
    assert await second.admit() == "probe"
    await second.record(transient_failure=False, probe=True)
    assert await first.admit() == "closed"  # half-open as first last saw it, but the probe closed it
    assert (await two_stores[0].gate_rows())["nhn_sms"].opened_until == 0


async def test_a_caller_that_wakes_late_takes_a_new_slot(two_stores: tuple[PostgresStore, PostgresStore]) -> None:
    clock, waits = Clock(), []

    async def starved_once(seconds: float) -> None:
        waits.append(round(seconds, 6))
        if len(waits) == 1:
            time.sleep(seconds + 0.05)  # noqa: ASYNC251 - the whole process stalls past the slot

    limiter = SharedRateLimiter("sendgrid", 10, two_stores[0], burst=1, clock=clock, sleep=starved_once)
    await limiter.acquire()
    await limiter.acquire()

    # The late caller did not go with its stale slot (0.1) but waited for a new one (0.2).
    assert waits == [0.1, 0.2]


async def test_a_shared_batch_reserves_one_slot_per_message(two_stores: tuple[PostgresStore, PostgresStore]) -> None:
    clock, sleeps = Clock(), Sleeps()
    first, second = (
        SharedRateLimiter("nhn_sms", 10, store, burst=1, clock=clock, sleep=sleeps) for store in two_stores
    )

    await first.acquire(3)  # slots 0, 0.1, 0.2: the batch goes at its last
    await second.acquire()  # the other process's next call: slot 0.3

    assert sleeps.waits == [0.2, 0.3]
