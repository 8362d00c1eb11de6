"""The dispatcher: the only thing that moves a message between lifecycle states after ingest.

It claims due messages from the store, holds advertising inside quiet hours, sends through the channel's
adapter within the vendor's limits, records every attempt, retries transient failures (briefly in-process,
then rescheduled in the store), ends permanent failures as ``dead`` and hands undeliverable kakao messages
to LMS. Where the vendor takes many messages per request, the messages of a claim that need nothing done for
them alone share requests and are settled each by its own result, in one transaction per request.

This module claims, splits each claim, holds the leases and runs the periodic duties; its parts do the rest,
each given what it needs (:class:`~gateway.dispatch.wiring.Wiring`): :mod:`~gateway.dispatch.single` sends a
message alone, :mod:`~gateway.dispatch.batch_plan` and :mod:`~gateway.dispatch.batch_send` a route's batches,
:mod:`~gateway.dispatch.uncertain` settles uncertain sends, :mod:`~gateway.dispatch.vendor_images` resolves kakao
images, and :mod:`~gateway.dispatch.endings` writes where each claim ends.

See docs/ARCHITECTURE.md, "Delivery lifecycle" and "Batches".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TypeVar

import httpx

from adapters.base import Adapter
from adapters.registry import product_of
from adapters.spec import Lookup
from gateway.dispatch.batch_plan import BatchPlanner
from gateway.dispatch.batch_send import BatchSender
from gateway.dispatch.endings import Endings, announce
from gateway.dispatch.limits import BreakerState, Gates
from gateway.dispatch.periodic import Duty, run_periodically
from gateway.dispatch.single import SingleSender
from gateway.dispatch.uncertain import UncertainSends
from gateway.dispatch.vendor_images import VendorImages
from gateway.dispatch.wiring import Wiring
from gateway.events import status_changed
from gateway.images.uploads import ImageUploads
from gateway.models import Attempt, Status, StoredMessage
from gateway.normalise.inbound import Policy
from gateway.settings import Settings
from gateway.store.base import StaleTransition, Store, StoreUnavailable, Transition
from gateway.store.gates import GateDatabase

__all__ = ("Dispatcher",)

_log = logging.getLogger(__name__)
_D = TypeVar("_D")


class Dispatcher:
    """Claims and delivers messages until stopped.

    Args:
        store: Where messages wait.
        adapters: The adapter for each ``(vendor, channel)``.
        client: The shared HTTP client (in sandbox mode its transport is the emulators).
        settings: Retry budget, quiet-hours mode, vendor limits, LMS vendor for fallback.
        policy: Normalisation policy, used to build a fallback LMS.
        clock: Current POSIX time; injected so tests need not wait for quiet hours to end.
        sleep: Used for in-process back-off; injected so tests need not wait.
        lookups: The vendor lookup of each ``(vendor, channel)`` that has one: an uncertain send there is looked
            up before it is sent again (docs/ARCHITECTURE.md, "Uncertain sends").
        batch_size: Messages claimed and sent at a time.
        lease: Seconds a claim lasts without renewal: a dead process's messages are claimed again this long
            after its last heartbeat (issue 10: within 30 s).
        heartbeat: Seconds between two renewals of the leases this process holds, so a slow send on a live
            process is never taken over.
        poll_interval: Seconds between claims while nothing wakes the dispatcher.
        gate_db: Where vendor gates are shared with other processes (PostgreSQL); ``None``: this process alone.
        images: Kakao images from any URL, for the vendors whose kakao sends need an uploaded image.
    """

    def __init__(
        self,
        store: Store,
        adapters: Mapping[tuple[str, str], Adapter],
        client: httpx.AsyncClient,
        settings: Settings,
        policy: Policy,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        batch_size: int = 256,
        lease: float = 20.0,
        heartbeat: float = 5.0,
        poll_interval: float = 0.5,
        gate_db: GateDatabase | None = None,
        lookups: Mapping[tuple[str, str], Lookup] | None = None,
        images: ImageUploads | None = None,
    ) -> None:
        self._store = store
        self._adapters = adapters
        self._clock = clock
        wiring = Wiring(
            store,
            adapters,
            client,
            settings,
            policy,
            clock=clock,
            sleep=sleep,
            # One per vendor product: one vendor's kakao, SMS and email may be separate APIs, and one's outage must
            # not pause the others (least of all the LMS a failing kakao falls back to).
            gates=Gates(settings.vendor_limits, gate_db, clock=clock),
            lookups=lookups or {},
            images=images,
        )
        self._wiring = wiring
        self._endings = Endings(wiring)
        self._uncertain = UncertainSends(wiring, self._endings)
        vendor_images = VendorImages(wiring)
        self._single = SingleSender(wiring, self._endings, self._uncertain, vendor_images)
        self._batches = BatchSender(
            wiring,
            self._endings,
            self._single,
            BatchPlanner(wiring, vendor_images),
            images=vendor_images,
            guard=self._guard,
            process=self._process,
            done=self._done,
        )
        self._batch_size = batch_size
        self._lease = lease
        self._heartbeat = heartbeat
        self._poll_interval = poll_interval
        #: The messages this process has claimed and not yet finished: their leases are renewed.
        self._held: set[str] = set()
        self._wakeup = asyncio.Event()
        self._in_flight: set[asyncio.Task[None]] = set()
        self._loop_task: asyncio.Task[None] | None = None
        self._duties: list[Duty] = []
        self._duty_tasks: list[asyncio.Task[None]] = []

    @property
    def gates(self) -> Gates:
        """The vendor products' limits and circuit breakers; replaceable (tests drive their own)."""
        return self._wiring.gates

    @gates.setter
    def gates(self, gates: Gates) -> None:
        self._wiring.gates = gates

    @property
    def running(self) -> bool:
        return self._loop_task is not None and not self._loop_task.done()

    def wake(self) -> None:
        """Tell the dispatcher new work is waiting (called by ingest)."""
        self._wakeup.set()

    def attach(self, *duties: Duty) -> None:
        """Add periodic work that runs beside the claim loop while the dispatcher runs (receipts, sweeps, polls)."""
        self._duties.extend(duties)

    def duty(self, kind: type[_D]) -> _D:
        """The first attached duty of type ``kind`` (tests and tools drive it with ``run_once``).

        Raises:
            LookupError: None of that type is attached.
        """
        for duty in self.duties(kind):
            return duty
        raise LookupError(f"no {kind.__name__} is attached")

    def duties(self, kind: type[_D]) -> list[_D]:
        """Every attached duty of type ``kind`` (there is a result poller per polled product)."""
        return [duty for duty in self._duties if isinstance(duty, kind)]

    async def start(self) -> None:
        self._loop_task = asyncio.create_task(self._run(), name="dispatcher")
        self._duty_tasks = [asyncio.create_task(run_periodically(d), name=d.name) for d in self._duties]
        self._duty_tasks.append(asyncio.create_task(self._renew_leases(), name="lease heartbeat"))

    async def breaker_states(self) -> dict[str, BreakerState]:
        """Each configured vendor product's circuit breaker (shared ones as every process sees them)."""
        return await self.gates.states(sorted({product_of(*route) for route in self._adapters}))

    async def stop(self, grace: float = 10.0) -> None:
        """Stop claiming, let in-flight sends finish for up to ``grace`` seconds, then cancel them.

        A cancelled send keeps its lease and is claimed again after it runs out, so nothing is lost.
        """
        for task in self._duty_tasks:
            task.cancel()
        await asyncio.gather(*self._duty_tasks, return_exceptions=True)
        self._duty_tasks = []
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
            self._loop_task = None
        if self._in_flight:
            _, pending = await asyncio.wait(self._in_flight, timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    async def run_once(self) -> int:
        """Claim one batch, process it to the end and return how many messages it held (for tests and tools)."""
        batch = await self._claim(self._batch_size)
        await asyncio.gather(*self._start(batch))
        return len(batch)

    async def renew_leases(self) -> int:
        """Renew the lease of every message this process holds; return how many were renewed."""
        if not self._held:
            return 0
        return await self._store.renew_leases(list(self._held), until=self._clock() + self._lease)

    async def _renew_leases(self) -> None:
        while True:
            await asyncio.sleep(self._heartbeat)
            try:
                await self.renew_leases()
            except Exception:  # the next beat tries again; the lease outlasts a few missed ones
                _log.exception("lease renewal failed")

    async def _run(self) -> None:
        while True:
            try:
                free = self._batch_size - len(self._held)
                batch = await self._claim(free) if free > 0 else []
            except Exception:
                _log.exception("dispatcher claim failed")
                batch = []
            for task in self._start(batch):
                self._in_flight.add(task)
                task.add_done_callback(self._in_flight.discard)
            if not batch or len(self._held) >= self._batch_size:
                self._wakeup.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), self._poll_interval)

    def _done(self, message_ids: Iterable[str]) -> None:
        """Messages left this process's hands: with half the batch free, claim more now rather than at the next poll."""
        self._held.difference_update(message_ids)
        if len(self._held) <= self._batch_size // 2:
            self._wakeup.set()

    def _start(self, claimed: list[StoredMessage]) -> list[asyncio.Task[None]]:
        """One task per message that goes alone, one per vendor route whose messages may share requests, one for
        the messages quiet hours hold."""
        try:
            singles, routes, held = self._partition(claimed)
        except Exception:  # a claim is never stranded: each message goes alone
            _log.exception("could not partition a claim; sending each message alone")
            singles, routes, held = claimed, {}, []
        tasks = [asyncio.create_task(self._process(record)) for record in singles]
        tasks.extend(asyncio.create_task(self._batches.send_route(route, records)) for route, records in routes.items())
        if held:
            tasks.append(asyncio.create_task(self._hold(held)))
        return tasks

    def _partition(
        self, claimed: list[StoredMessage]
    ) -> tuple[list[StoredMessage], dict[tuple[str, str], list[StoredMessage]], list[Transition]]:
        """Split a claim: messages for the one-at-a-time path, by route those that may go in batches, and the moves
        of those quiet hours hold.

        A message whose previous send was cut off (``send_started_at``) always goes alone: settling that comes
        before quiet hours, as holding it would clear the mark. Any other message inside quiet hours is held (or
        suppressed) with the others, in one transaction. The others of a route whose adapter is a
        :class:`~adapters.batch.BatchAdapter` may share requests (docs/ARCHITECTURE.md, "Batches"; see
        :meth:`~gateway.dispatch.batch_send.BatchSender.send_route`). A route with one such message sends it alone.
        """
        now = self._clock()
        singles: list[StoredMessage] = []
        routes: dict[tuple[str, str], list[StoredMessage]] = {}
        held: list[Transition] = []
        for record in claimed:
            if record.send_started_at is not None:
                singles.append(record)
                continue
            quiet = self._endings.quiet_move(record, now)
            route = (record.vendor, record.channel)
            if quiet is not None:
                held.append(quiet)
            elif route in self._wiring.batch_adapters:
                routes.setdefault(route, []).append(record)
            else:
                singles.append(record)
        for lonely in [route for route, records in routes.items() if len(records) == 1]:
            singles.extend(routes.pop(lonely))
        return singles, routes, held

    async def _claim(self, limit: int) -> list[StoredMessage]:
        await self.gates.refresh()
        paused = self.gates.paused()
        # A paused product's messages wait in the queue, unless the channel's next vendor can take them.
        exclude = frozenset(
            route
            for route in self._adapters
            if product_of(*route) in paused and self._wiring.next_vendor(*route) is None
        )
        claimed = await self._store.claim(now=self._clock(), limit=limit, lease=self._lease, exclude=exclude)
        self._held.update(record.id for record in claimed)
        for record in claimed:
            status_changed(record.id, Status.SENDING, attempt=record.attempt_count + 1)
        return claimed

    async def _process(self, record: StoredMessage) -> None:
        await self._guard(record, self._handle(record))

    async def _handle(self, record: StoredMessage) -> None:
        # Before quiet hours: holding the message would clear the mark that says the vendor may have it.
        if await self._uncertain.ended_uncertain(record):
            return
        if await self._endings.held_for_quiet_hours(record):
            return
        await self._single.deliver(record)

    async def _guard(self, record: StoredMessage, work: Awaitable[None]) -> None:
        """Run ``work`` on ``record``: a failure of the gateway is counted against the message, never lost."""
        try:
            await work
        except StaleTransition:
            _log.info("message moved by someone else", extra={"message_id": record.id})
        except StoreUnavailable:
            # Not the message's fault: it keeps its lease and is claimed again once the store is back.
            _log.warning("store unavailable while dispatching", extra={"message_id": record.id})
        except Exception as exc:
            try:
                await self._endings.count_internal_error(record, exc)
            except Exception:
                # The lease runs out and the message is claimed again: an unexpected error never loses it.
                _log.error("dispatch failed", exc_info=exc, extra={"message_id": record.id})
                _log.exception("could not record the failure", extra={"message_id": record.id})
        finally:
            self._done((record.id,))

    async def _hold(self, moves: list[Transition]) -> None:
        """Hold (or suppress) a claim's advertising in quiet hours in one transaction, as one at a time would."""
        try:
            announce(moves, await self._store.transition_many(moves, now=self._clock()))
        except StoreUnavailable:
            # Not the messages' fault: they keep their leases and are claimed again once the store is back.
            _log.warning("store unavailable while holding messages for quiet hours", extra={"count": len(moves)})
        except Exception:  # nothing was sent: the messages are claimed again when their leases run out
            _log.exception("holding messages for quiet hours failed", extra={"count": len(moves)})
        finally:
            self._done(move.message_id for move in moves)

    async def fall_back(
        self,
        record: StoredMessage,
        reason: str,
        logged: Attempt | None = None,
        *,
        code: str | None = None,
        expect: frozenset[Status] | None = None,
        sent: dict[str, object] | None = None,
    ) -> None:
        """Replace an undeliverable kakao message by an LMS to the same phone, linked both ways.

        The failed attempt is recorded first while the lease still holds: a crash before the link is made
        leaves the message to be claimed again, never lost. ``code`` is the vendor code that caused it when no
        attempt says so (a receipt); ``expect`` the parent's statuses it may fall back from (see
        :meth:`Store.link_fallback`, which never lets a message fall back twice); ``sent`` the vendor request
        the attempt made.
        """
        await self._endings.fall_back(record, reason, logged, code=code, expect=expect, sent=sent)
