from __future__ import annotations

import asyncio
import random
import time

from gateway.dispatch.limits import CircuitBreaker, VendorGate
from gateway.dispatch.retry import rescheduled_delay
from gateway.settings import VendorLimits


def test_breaker_pauses_after_threshold_and_resets_on_success() -> None:
    now = [1000.0]
    breaker = CircuitBreaker(threshold=3, cooldown=30, clock=lambda: now[0])
    for _ in range(2):
        breaker.record(transient_failure=True)
    assert not breaker.paused()
    breaker.record(transient_failure=True)
    assert breaker.paused()
    now[0] += 31
    assert not breaker.paused()
    breaker.record(transient_failure=True)  # half-open: one more failure pauses again
    assert breaker.paused()
    now[0] += 31
    breaker.record(transient_failure=False)
    breaker.record(transient_failure=True)
    assert not breaker.paused()


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
    gate = VendorGate(VendorLimits(rate=20, concurrency=100), CircuitBreaker())
    started = time.perf_counter()

    async def call() -> None:
        async with gate.admit():
            pass

    await asyncio.gather(*(call() for _ in range(30)))  # a burst of 20, then 10 more at 20/s
    assert time.perf_counter() - started >= 0.4


def test_rescheduled_delay_grows_and_honours_retry_after() -> None:
    rng = random.Random(1)
    first = rescheduled_delay(3, None, rng)
    later = rescheduled_delay(8, None, rng)
    assert 15 <= first <= 30
    assert 480 <= later <= 960
    assert rescheduled_delay(30, None, rng) <= 3600
    assert rescheduled_delay(3, 120.0, rng) >= 120
