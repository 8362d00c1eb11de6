"""Per-vendor sending limits: a rate limit, a concurrency limit and a circuit breaker."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from gateway.settings import VendorLimits

__all__ = ("CircuitBreaker", "RateLimiter", "VendorGate")

#: Slots add up in floating point: a wait shorter than this is rounding, not a limit.
_ROUNDING = 1e-9


class RateLimiter:
    """``rate`` calls a second, sustained; after a quiet spell up to ``burst`` at once (generic cell rate algorithm).

    So any window of ``w`` seconds admits at most ``burst + rate * w`` calls.

    Each caller takes the next free slot and sleeps once until it: no queue of waiters and no timer re-armed
    per waiter. aiolimiter does that, and under uvloop (whose timers have millisecond resolution) it woke early
    and re-armed in a loop: hundreds of wake-ups per call, up to half the dispatcher's CPU at a sustained
    1,000 messages/s (bench/README.md).

    Args:
        rate: Calls per second.
        burst: Calls admitted at once after a quiet spell; defaults to one second's worth (at least 1).
        clock: Monotonic seconds; defaults to the running loop's clock.
        sleep: How to wait; defaults to :func:`asyncio.sleep`.
    """

    def __init__(
        self,
        rate: float,
        *,
        burst: float | None = None,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._interval = 1.0 / rate
        self._tolerance = (max(burst or rate, 1.0) - 1.0) * self._interval
        self._clock = clock
        self._sleep = sleep
        self._next_slot = float("-inf")

    async def acquire(self) -> None:
        """Wait for a slot; a caller cancelled while waiting gives its slot back if no one took a later one."""
        now = self._clock() if self._clock else asyncio.get_running_loop().time()
        slot = max(self._next_slot, now)
        self._next_slot = slot + self._interval
        wait = slot - now - self._tolerance
        if wait <= _ROUNDING:
            return
        try:
            await self._sleep(wait)
        except asyncio.CancelledError:
            if self._next_slot == slot + self._interval:
                self._next_slot = slot
            raise


class CircuitBreaker:
    """Pauses a vendor after ``threshold`` retryable failures in a row, for ``cooldown`` seconds.

    After the pause one more failure pauses it again at once (half-open); any answer that is not a
    transient failure closes it.
    """

    def __init__(self, *, threshold: int = 20, cooldown: float = 30.0, clock: Callable[[], float] = time.time) -> None:
        self._threshold = threshold
        self._cooldown = cooldown
        self._clock = clock
        self._failures = 0
        self.paused_until = 0.0

    def paused(self) -> bool:
        return self._clock() < self.paused_until

    def record(self, *, transient_failure: bool) -> None:
        if not transient_failure:
            self._failures = 0
            return
        self._failures += 1
        if self._failures >= self._threshold:
            self.paused_until = self._clock() + self._cooldown
            self._failures = self._threshold - 1


class VendorGate:
    """Admits calls to one vendor within its rate (messages/s) and concurrency limits."""

    def __init__(self, limits: VendorLimits, breaker: CircuitBreaker) -> None:
        # A tenth of a second's worth at once: a vendor counting per second sees at most 1.1 x its limit.
        self._rate = RateLimiter(limits.rate, burst=limits.rate / 10)
        self._slots = asyncio.Semaphore(limits.concurrency)
        self.breaker = breaker

    @asynccontextmanager
    async def admit(self) -> AsyncIterator[None]:
        async with self._slots:
            await self._rate.acquire()
            yield
