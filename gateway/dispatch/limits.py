"""Per-vendor sending limits: a rate limit, a concurrency limit and a circuit breaker."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from aiolimiter import AsyncLimiter

from gateway.settings import VendorLimits

__all__ = ("CircuitBreaker", "VendorGate")


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
        self._rate = AsyncLimiter(max(limits.rate, 1.0), 1.0)
        self._slots = asyncio.Semaphore(limits.concurrency)
        self.breaker = breaker

    @asynccontextmanager
    async def admit(self) -> AsyncIterator[None]:
        async with self._slots:
            await self._rate.acquire()
            yield
