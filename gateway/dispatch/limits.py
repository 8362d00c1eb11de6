"""Per-vendor-product sending limits: a rate limit, a concurrency limit and a circuit breaker.

One process alone (SQLite) keeps them in memory. Processes sharing a PostgreSQL share each product's rate limit
and breaker through one row of that database (:mod:`gateway.store.gates`), so two processes together send no
faster than one, and a vendor outage found by one pauses all (issue 10; bench/README.md has the measurement
behind choosing PostgreSQL over Redis). The concurrency limit stays per process: it protects this process's
connection pool, not the vendor.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from typing import Literal

from adapters.registry import product_of
from gateway.settings import VendorLimits
from gateway.store.gates import GateDatabase, GateRow

__all__ = (
    "Admission",
    "BreakerState",
    "CircuitBreaker",
    "Gates",
    "RateLimiter",
    "SharedCircuitBreaker",
    "SharedRateLimiter",
    "VendorGate",
)

#: Slots add up in floating point: a wait shorter than this is rounding, not a limit.
_ROUNDING = 1e-9
#: What a breaker lets a caller do: send as usual, send the one half-open probe, or not send at all.
Admission = Literal["closed", "probe", "open"]
BreakerState = Literal["closed", "open", "half-open"]
_DEFAULT_LIMITS = VendorLimits(rate=1000.0, concurrency=64)
#: Seconds after its slot a caller of the shared limiter may still go; later, it takes a new slot (up to
#: ``_LATE_TRIES`` times).
_LATE = 0.02
_LATE_TRIES = 3
#: Seconds a message turned away by a half-open breaker waits for the probe's answer.
_PROBE_WAIT = 5.0


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

    async def acquire(self, count: int = 1) -> None:
        """Wait for ``count`` consecutive slots (a batch of ``count`` messages goes at the time of its last slot).

        A caller cancelled while waiting gives its slots back if no one took a later one.
        """
        now = self._clock() if self._clock else asyncio.get_running_loop().time()
        slot = max(self._next_slot, now)
        self._next_slot = slot + count * self._interval
        wait = slot + (count - 1) * self._interval - now - self._tolerance
        if wait <= _ROUNDING:
            return
        try:
            await self._sleep(wait)
        except asyncio.CancelledError:
            if self._next_slot == slot + count * self._interval:
                self._next_slot = slot
            raise


class SharedRateLimiter:
    """:class:`RateLimiter`'s algorithm on a slot counter in the database, shared by every process.

    Callers that arrive while a reservation is on its way wait together for the next one, which reserves all
    their slots in one statement: at 1,000 messages/s a process makes far fewer round trips than calls. A
    slot reserved for a caller that is cancelled stays used (never more than the limit).

    Args:
        product: The vendor product (the row).
        rate: Calls per second, for all processes together.
        db: The shared state.
        burst: As for :class:`RateLimiter`.
        on_gate: Told the breaker's stored state with every reservation, so a breaker opened by another process
            is seen here within one reservation.
        clock: A test's POSIX clock; ``None``: the database's clock.
        sleep: How to wait.
    """

    def __init__(
        self,
        product: str,
        rate: float,
        db: GateDatabase,
        *,
        burst: float | None = None,
        on_gate: Callable[[GateRow], None] = lambda _: None,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._product = product
        self._db = db
        self._interval = 1.0 / rate
        self._tolerance = (max(burst or rate, 1.0) - 1.0) * self._interval
        self._on_gate = on_gate
        self._clock = clock
        self._sleep = sleep
        self._waiting: list[tuple[asyncio.Future[float], int]] = []
        self._reserving: asyncio.Task[None] | None = None

    async def acquire(self, count: int = 1) -> None:
        """Wait for ``count`` consecutive slots of the shared limit (a batch goes at the time of its last slot).

        A caller that wakes more than :data:`_LATE` after its slot (its process was starved of CPU) takes new
        slots rather than going late: late callers of one process would otherwise reach the vendor together with
        the other processes' punctual ones, over the limit. After a few tries it goes anyway.
        """
        loop = asyncio.get_running_loop()
        for _ in range(_LATE_TRIES):
            waiter: asyncio.Future[float] = loop.create_future()
            self._waiting.append((waiter, count))
            if self._reserving is None or self._reserving.done():
                self._reserving = asyncio.create_task(self._reserve())
            wait = max(await waiter, 0.0)
            due = loop.time() + wait
            if wait > _ROUNDING:
                await self._sleep(wait)
            if loop.time() - due <= _LATE:
                return

    async def _reserve(self) -> None:
        """Reserve slots for everyone waiting, batch after batch, until no one is."""
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                grant = await self._db.reserve_slots(
                    self._product,
                    count=sum(count for _, count in batch),
                    interval=self._interval,
                    now=self._clock() if self._clock else None,
                )
            except Exception as exc:  # the callers fail and their messages are rescheduled
                for waiter, _ in batch:
                    if not waiter.done():
                        waiter.set_exception(exc)
                continue
            self._on_gate(grant.gate)
            position = 0
            for waiter, count in batch:
                position += count
                if not waiter.done():
                    last = grant.first + (position - 1) * self._interval
                    waiter.set_result(last - grant.now - self._tolerance)


class CircuitBreaker:
    """Pauses a vendor product after ``threshold`` transient failures in a row, for ``cooldown`` seconds.

    After the pause the breaker is half-open: it admits exactly one call, the probe (and, should the probe's
    caller vanish, another after ``probe_lease`` seconds). A failed probe pauses it again at once; any answer
    that is not a transient failure closes it. While it is open, no call is admitted at all.

    Args:
        threshold: Transient failures in a row that open it.
        cooldown: Seconds it stays open.
        probe_lease: Seconds the probe may take before another caller may probe.
        clock: POSIX seconds.
    """

    def __init__(
        self,
        *,
        threshold: int = 20,
        cooldown: float = 30.0,
        probe_lease: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self.probe_lease = probe_lease
        self._clock = clock
        self._row = GateRow()

    @property
    def paused_until(self) -> float:
        """When calls may be tried again: the end of the pause, or of the probe's lease."""
        return max(self._row.opened_until, self._row.probe_until)

    def retry_at(self) -> float:
        """When a message this breaker turned away should come back: the end of the pause, or, while the probe
        is out, a few seconds on (a probe answers well within its lease, and a success closes the breaker)."""
        now, row = self._clock(), self._row
        if now < row.opened_until:
            return row.opened_until
        return min(row.probe_until, now + _PROBE_WAIT) if row.probe_until > now else now + 1.0

    def paused(self) -> bool:
        """Whether no call would be admitted now (open, or half-open with its probe out)."""
        return self._clock() < self.paused_until

    def state(self) -> BreakerState:
        """``closed``, ``open`` or ``half-open``, as this process last saw it."""
        return _state_of(self._row, self._clock())

    def seen(self, row: GateRow) -> None:
        """Take ``row`` as the breaker's current state."""
        self._row = row

    async def admit(self) -> Admission:
        """Whether a call may go now; ``probe`` makes the caller the half-open probe."""
        state = self.state()
        if state == "closed":
            return "closed"
        if state == "open":
            return "open"
        taken, row = await self._take_probe()
        self._row = row
        if taken:
            return "probe"
        return "closed" if row.opened_until == 0 else "open"

    async def record(self, *, transient_failure: bool, probe: bool = False) -> None:
        """Count a call's answer; ``probe`` says it was the half-open probe."""
        if not transient_failure:
            if self._row != GateRow():
                self._row = await self._closed()
            return
        self._row = await self._failed(probe)

    async def _take_probe(self) -> tuple[bool, GateRow]:
        now, row = self._clock(), self._row
        if row.opened_until == 0 or now < row.opened_until or now < row.probe_until:
            return False, row
        return True, GateRow(row.failures, row.opened_until, now + self.probe_lease)

    async def _failed(self, probe: bool) -> GateRow:
        row = self._row
        if probe or row.failures + 1 >= self.threshold:
            return GateRow(self.threshold - 1, self._clock() + self.cooldown, 0.0 if probe else row.probe_until)
        return GateRow(row.failures + 1, row.opened_until, row.probe_until)

    async def _closed(self) -> GateRow:
        return GateRow()


class SharedCircuitBreaker(CircuitBreaker):
    """A :class:`CircuitBreaker` whose state is the product's row in the database, shared by every process.

    The answer to :meth:`admit` comes from the state last seen (refreshed by every slot reservation and every
    recorded failure), so a closed breaker costs no round trip; only taking the probe and recording a change
    reach the database, where one statement decides each (one probe across all processes).

    Args:
        product: The vendor product (the row).
        db: The shared state.
        clock: A test's POSIX clock; ``None``: the database's clock (the local one to read it back).
        Others: as for :class:`CircuitBreaker`.
    """

    def __init__(
        self,
        product: str,
        db: GateDatabase,
        *,
        threshold: int = 20,
        cooldown: float = 30.0,
        probe_lease: float = 30.0,
        clock: Callable[[], float] | None = None,
    ) -> None:
        super().__init__(threshold=threshold, cooldown=cooldown, probe_lease=probe_lease, clock=clock or time.time)
        self._product = product
        self._db = db
        self._db_now = clock

    def _now(self) -> float | None:
        return self._db_now() if self._db_now else None

    async def _take_probe(self) -> tuple[bool, GateRow]:
        return await self._db.take_probe(self._product, lease=self.probe_lease, now=self._now())

    async def _failed(self, probe: bool) -> GateRow:
        return await self._db.record_failure(
            self._product, probe=probe, threshold=self.threshold, cooldown=self.cooldown, now=self._now()
        )

    async def _closed(self) -> GateRow:
        return await self._db.record_success(self._product)


class VendorGate:
    """Admits calls to one vendor product within its breaker, rate (messages/s) and concurrency limits.

    Args:
        limits: The product's rate and concurrency.
        breaker: Its circuit breaker.
        limiter: Its rate limiter; defaults to a local :class:`RateLimiter` with a tenth of a second's burst.
    """

    def __init__(
        self,
        limits: VendorLimits,
        breaker: CircuitBreaker,
        limiter: RateLimiter | SharedRateLimiter | None = None,
    ) -> None:
        # A tenth of a second's worth at once: a vendor counting per second sees at most 1.1 x its limit.
        self._rate = limiter or RateLimiter(limits.rate, burst=limits.rate / 10)
        self._slots = asyncio.Semaphore(limits.concurrency)
        self.breaker = breaker
        #: Most messages one batch request may carry: the local limiter's burst, a tenth of a second of the rate
        #: (docs/ARCHITECTURE.md, "Batches"). A batch takes its messages' consecutive slots and goes at the time
        #: of its last, so with at most a burst in it the limiter's bound holds unchanged: any window of ``w``
        #: seconds sees at most ``rate * w + rate / 10`` messages. The shared limiter, which has no burst, lets a
        #: batch take that same tenth.
        self.batch_limit = max(1, int(limits.rate / 10))

    @asynccontextmanager
    async def admit(self, count: int = 1) -> AsyncIterator[Admission]:
        """Wait for a concurrency slot and ``count`` rate slots, then say whether the breaker lets the call go.

        One request takes one concurrency slot however many messages it carries; the rate limit counts messages,
        as the vendors do. The breaker is asked before the rate slots (an open breaker costs no slot) and again
        after them, as the reservation may have brought news that another process opened it.
        """
        async with self._slots:
            admission = await self.breaker.admit()
            if admission == "open":
                yield admission
                return
            await self._rate.acquire(count)
            # Another process's breaker may be open, or half-open with its one probe: this call must not go.
            if admission == "closed" and self.breaker.state() != "closed":
                admission = "open"
            yield admission


class Gates:
    """The gate of every vendor product one dispatcher sends to, made on first use.

    Args:
        limits: Rate and concurrency per vendor (NHN's limit applies to each of its products).
        db: Where shared gates keep their state; ``None``: in memory, for this process alone.
        clock: POSIX seconds, for the breakers.
        refresh_interval: While a shared breaker is paused, its stored state is read again at most this often,
            so a probe's success in another process is seen here soon.
        rate_clock: Monotonic seconds for the local rate limiters (a test's fake clock); defaults to the loop's.
        rate_sleep: How the local rate limiters wait (a test's fake sleep).
    """

    def __init__(
        self,
        limits: Mapping[str, VendorLimits],
        db: GateDatabase | None = None,
        *,
        clock: Callable[[], float] = time.time,
        refresh_interval: float = 1.0,
        rate_clock: Callable[[], float] | None = None,
        rate_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._limits = limits
        self._db = db
        self._clock = clock
        self._rate_clock = rate_clock
        self._rate_sleep = rate_sleep
        self._refresh_interval = refresh_interval
        self._refreshed = float("-inf")
        self._gates: dict[str, VendorGate] = {}

    @property
    def shared(self) -> bool:
        return self._db is not None

    def get(self, vendor: str, channel: str) -> VendorGate:
        """The gate of ``vendor``'s product for ``channel``."""
        product = product_of(vendor, channel)
        gate = self._gates.get(product)
        if gate is None:
            gate = self._gates[product] = self._make(product, self._limits.get(vendor, _DEFAULT_LIMITS))
        return gate

    def _make(self, product: str, limits: VendorLimits) -> VendorGate:
        if self._db is None:
            local = RateLimiter(limits.rate, burst=limits.rate / 10, clock=self._rate_clock, sleep=self._rate_sleep)
            return VendorGate(limits, CircuitBreaker(clock=self._clock), local)
        breaker = SharedCircuitBreaker(product, self._db, clock=self._clock)
        # No burst: several processes' calls reach the vendor with their own scheduling delays (tens of ms on a
        # busy machine), and the tenth of a second's burst a vendor may see is left to absorb those.
        limiter = SharedRateLimiter(product, limits.rate, self._db, burst=1, on_gate=breaker.seen)
        return VendorGate(limits, breaker, limiter)

    def paused(self) -> set[str]:
        """The products whose breaker admits no call now."""
        return {product for product, gate in self._gates.items() if gate.breaker.paused()}

    async def refresh(self) -> None:
        """Re-read the stored state of paused shared breakers (at most every ``refresh_interval`` seconds)."""
        now = self._clock()
        if self._db is None or now - self._refreshed < self._refresh_interval or not self.paused():
            return
        self._refreshed = now
        rows = await self._db.gate_rows()
        for product, gate in self._gates.items():
            gate.breaker.seen(rows.get(product, GateRow()))

    async def states(self, products: Iterable[str]) -> dict[str, BreakerState]:
        """Each of ``products``' breaker state: as stored when shared (every process's view), else this one's."""
        if self._db is not None:
            rows = await self._db.gate_rows()
            for product, gate in self._gates.items():
                gate.breaker.seen(rows.get(product, GateRow()))
            now = self._clock()
            return {product: _state_of(rows.get(product, GateRow()), now) for product in products}
        return {
            product: self._gates[product].breaker.state() if product in self._gates else "closed"
            for product in products
        }


def _state_of(row: GateRow, now: float) -> BreakerState:
    if row.opened_until == 0:
        return "closed"
    return "open" if now < row.opened_until else "half-open"
