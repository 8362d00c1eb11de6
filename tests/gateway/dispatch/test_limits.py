from __future__ import annotations

import asyncio
import contextlib
import time

from gateway.dispatch.limits import CircuitBreaker, RateLimiter, VendorGate
from gateway.settings import VendorLimits


async def test_breaker_pauses_after_threshold_and_resets_on_success() -> None:
    now = [1000.0]
    breaker = CircuitBreaker(threshold=3, cooldown=30, clock=lambda: now[0])
    for _ in range(2):
        await breaker.record(transient_failure=True)
    assert not breaker.paused()
    await breaker.record(transient_failure=True)
    assert breaker.paused()
    assert breaker.state() == "open"
    assert await breaker.admit() == "open"
    now[0] += 31
    assert breaker.state() == "half-open"
    assert await breaker.admit() == "probe"
    await breaker.record(transient_failure=True, probe=True)  # a failed probe pauses again at once
    assert breaker.state() == "open"
    now[0] += 31
    assert await breaker.admit() == "probe"
    await breaker.record(transient_failure=False, probe=True)
    assert breaker.state() == "closed"
    await breaker.record(transient_failure=True)
    assert not breaker.paused()


async def test_half_open_breaker_admits_one_probe_until_it_answers_or_its_lease_ends() -> None:
    now = [1000.0]
    breaker = CircuitBreaker(threshold=1, cooldown=30, probe_lease=10, clock=lambda: now[0])
    await breaker.record(transient_failure=True)
    now[0] += 30
    assert [await breaker.admit() for _ in range(5)] == ["probe", "open", "open", "open", "open"]
    assert breaker.paused()
    assert breaker.retry_at() == now[0] + 5  # turned-away messages come back soon: the probe answers quickly
    now[0] += 10  # the probe's caller vanished (its process died): another may probe
    assert await breaker.admit() == "probe"


async def test_gate_enforces_concurrency() -> None:
    gate = VendorGate(VendorLimits(rate=10_000, concurrency=2), CircuitBreaker())
    active = peak = 0

    async def call() -> None:
        nonlocal active, peak
        async with gate.admit():
            active += 1
            peak = max(peak, active)
            await asyncio.sleep(0.01)
            active -= 1

    await asyncio.gather(*(call() for _ in range(10)))
    assert peak == 2


async def test_gate_enforces_rate() -> None:
    gate = VendorGate(VendorLimits(rate=100, concurrency=100), CircuitBreaker())
    started = time.perf_counter()

    async def call() -> None:
        async with gate.admit():
            pass

    await asyncio.gather(*(call() for _ in range(30)))  # a burst of 10 (0.1 s worth), then 20 more at 100/s
    assert time.perf_counter() - started >= 0.19


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 9))


async def test_rate_limiter_admits_a_burst_then_one_call_per_interval_each_sleeping_once() -> None:
    time_ = FakeTime()
    limiter = RateLimiter(10, burst=3, clock=time_.clock, sleep=time_.sleep)

    for _ in range(5):
        await limiter.acquire()

    assert time_.sleeps == [0.1, 0.2]  # three at once, then 0.1 s apart: one sleep per waiting call


async def test_rate_limiter_restores_its_burst_after_a_quiet_spell() -> None:
    time_ = FakeTime()
    limiter = RateLimiter(10, burst=3, clock=time_.clock, sleep=time_.sleep)
    for _ in range(5):
        await limiter.acquire()
    time_.now = 10.0
    time_.sleeps.clear()

    for _ in range(3):
        await limiter.acquire()

    assert time_.sleeps == []


async def test_rate_limiter_defaults_to_a_second_s_worth_of_burst() -> None:
    time_ = FakeTime()
    limiter = RateLimiter(100, clock=time_.clock, sleep=time_.sleep)

    for _ in range(101):
        await limiter.acquire()

    assert time_.sleeps == [0.01]


async def test_a_caller_cancelled_while_waiting_gives_its_slot_back() -> None:
    time_ = FakeTime()
    waiting = asyncio.Event()

    async def sleep_until_cancelled(seconds: float) -> None:
        time_.sleeps.append(seconds)
        waiting.set()
        await asyncio.Event().wait()

    limiter = RateLimiter(10, burst=1, clock=time_.clock, sleep=sleep_until_cancelled)
    await limiter.acquire()
    caller = asyncio.create_task(limiter.acquire())
    await waiting.wait()
    caller.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await caller

    time_.now = 0.1
    await limiter.acquire()  # the cancelled caller's slot, 0.1: no wait

    assert time_.sleeps == [0.1]


async def test_a_batch_takes_one_slot_per_message_and_goes_at_its_last() -> None:
    time_ = FakeTime()
    limiter = RateLimiter(10, burst=3, clock=time_.clock, sleep=time_.sleep)

    await limiter.acquire(3)  # a burst's worth at once: no wait
    await limiter.acquire(2)  # slots 0.3 and 0.4, going at the second
    await limiter.acquire()  # slot 0.5

    assert time_.sleeps == [0.2, 0.3]


async def test_a_batch_takes_one_concurrency_slot_and_the_gate_caps_its_size_at_a_tenth_of_the_rate() -> None:
    gate = VendorGate(VendorLimits(rate=1000, concurrency=1), CircuitBreaker())
    assert gate.batch_limit == 100
    assert VendorGate(VendorLimits(rate=5, concurrency=1), CircuitBreaker()).batch_limit == 1
    async with gate.admit(100) as admission:
        assert admission == "closed"
