"""The dispatcher: the only thing that moves a message between lifecycle states after ingest.

It claims due messages from the store, holds advertising inside quiet hours, sends through the channel's
adapter within the vendor's limits, records every attempt, retries transient failures (briefly in-process,
then rescheduled in the store), ends permanent failures as ``dead`` and hands undeliverable kakao messages
to LMS. Where the vendor takes many messages per request, the messages of a claim that need nothing done for
them alone share requests and are settled each by its own result, in one transaction per request.

See docs/ARCHITECTURE.md, "Delivery lifecycle" and "Batches".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import traceback
from collections import Counter
from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping
from datetime import UTC, datetime
from typing import NamedTuple, TypeVar

import httpx
import msgspec
import tenacity

from adapters.base import Adapter, SendResult, send
from adapters.batch import BatchAdapter, BatchItem, BatchResult, DistinctRecipients, send_batch
from adapters.contract import Accepted, Found, NotFound, OutboundMessage, Outcome, Permanent, Retryable, Uncertain
from adapters.registry import product_of
from adapters.spec import Lookup, LookupTarget
from gateway import metrics
from gateway.channels.lms import lms_from_kakao
from gateway.channels.quiet_hours import quiet_until, quiet_window
from gateway.dispatch.batching import chunks
from gateway.dispatch.failover import attempt_was_outage, may_fail_over, next_vendor
from gateway.dispatch.limits import BreakerState, Gates, VendorGate
from gateway.dispatch.periodic import Duty, run_periodically
from gateway.dispatch.retry import (
    IN_PROCESS_ATTEMPTS,
    SHORT_WAIT_LIMIT,
    call_with_retries,
    in_process_wait,
    rescheduled_delay,
)
from gateway.dispatch.settle import Verdict, describe, verdict
from gateway.events import status_changed
from gateway.images.fetch import ImageRefused
from gateway.images.uploads import ImageUploads
from gateway.models import Attempt, AttemptOutcome, NewMessage, Status, StoredMessage, new_message_id
from gateway.normalise.inbound import Policy
from gateway.settings import Settings
from gateway.store.base import AttemptEntry, Report, StaleTransition, Store, StoreUnavailable, Transition
from gateway.store.gates import GateDatabase

__all__ = ("Dispatcher",)

_log = logging.getLogger(__name__)
_SENDING = frozenset({Status.SENDING})
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
        self._batch_adapters = {route: a for route, a in adapters.items() if isinstance(a, BatchAdapter)}
        self._lookups = dict(lookups or {})
        self._images = images
        self._client = client
        self._settings = settings
        self._policy = policy
        self._clock = clock
        self._sleep = sleep
        self._batch_size = batch_size
        self._lease = lease
        self._heartbeat = heartbeat
        self._poll_interval = poll_interval
        # One per vendor product: one vendor's kakao, SMS and email may be separate APIs, and one's outage must not
        # pause the others (least of all the LMS a failing kakao falls back to).
        self.gates = Gates(settings.vendor_limits, gate_db, clock=clock)
        #: The messages this process has claimed and not yet finished: their leases are renewed.
        self._held: set[str] = set()
        self._wakeup = asyncio.Event()
        self._in_flight: set[asyncio.Task[None]] = set()
        self._loop_task: asyncio.Task[None] | None = None
        self._duties: list[Duty] = []
        self._duty_tasks: list[asyncio.Task[None]] = []

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
        tasks.extend(asyncio.create_task(self._send_route(route, records)) for route, records in routes.items())
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
        :meth:`_send_route`). A route with one such message sends it alone.
        """
        now = self._clock()
        singles: list[StoredMessage] = []
        routes: dict[tuple[str, str], list[StoredMessage]] = {}
        held: list[Transition] = []
        for record in claimed:
            if record.send_started_at is not None:
                singles.append(record)
                continue
            quiet = self._quiet_move(record, now)
            route = (record.vendor, record.channel)
            if quiet is not None:
                held.append(quiet)
            elif route in self._batch_adapters:
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
            route for route in self._adapters if product_of(*route) in paused and self._next_vendor(*route) is None
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
        if await self._ended_uncertain(record):
            return
        if await self._held_for_quiet_hours(record):
            return
        await self._deliver(record)

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
                await self._count_internal_error(record, exc)
            except Exception:
                # The lease runs out and the message is claimed again: an unexpected error never loses it.
                _log.error("dispatch failed", exc_info=exc, extra={"message_id": record.id})
                _log.exception("could not record the failure", extra={"message_id": record.id})
        finally:
            self._done((record.id,))

    async def _count_internal_error(self, record: StoredMessage, exc: Exception) -> None:
        """Record a failure of the gateway itself as an attempt: retried with back-off, ``dead`` after a bound.

        A poison message (one whose processing always raises) thus ends ``dead`` after
        ``max_internal_errors`` tries, reported to Braze like any dead message, instead of being taken again
        every lease for a day. Each distinct error (type and place) is written out, and logged with its
        traceback, once; a repeat says "the same again".
        """
        detail = await self._store.get(record.id)
        if detail is None:
            return
        now = self._clock()
        error = _error_name(exc)
        earlier = [attempt for attempt in detail.attempts if attempt.outcome == "error"]
        new = all(error not in attempt.detail for attempt in earlier)
        if new:
            _log.error("dispatch failed", exc_info=exc, extra={"message_id": record.id})
        else:
            _log.warning("dispatch failed again: %s", error, extra={"message_id": record.id})
        metrics.ATTEMPTS.labels(record.vendor, record.channel, "error").inc()
        failures, bound = len(earlier) + 1, self._settings.max_internal_errors
        number = detail.record.attempt_count + 1
        attempt = Attempt(
            number=number,
            started_at=now,
            duration_ms=0.0,
            outcome="error",
            detail=f"internal error: {error}" if new else "internal error: the same again",
        )
        next_at = now + rescheduled_delay(number, None)
        counted = f"internal error {failures} of {bound}"
        ended = _Ended(record.id, attempt, None, now)
        if failures >= bound or record.past_budget(next_at, self._settings.retry_budget):
            await self._end(ended, Status.DEAD, f"{counted}; giving up", report=self._report(None))
        else:
            await self._end(ended, Status.RETRYING, f"{counted}; next attempt scheduled", next_attempt_at=next_at)

    async def _held_for_quiet_hours(self, record: StoredMessage) -> bool:
        now = self._clock()
        move = self._quiet_move(record, now)
        if move is None:
            return False
        await self._store.transition(
            record.id,
            move.status,
            move.reason,
            now=now,
            expect=_SENDING,
            next_attempt_at=move.next_attempt_at,
            report=move.report,
        )
        status_changed(record.id, move.status)
        return True

    def _quiet_move(self, record: StoredMessage, now: float) -> Transition | None:
        """Advertising inside quiet hours: ``held`` until the window opens, or ``suppressed``; ``None`` outside."""
        until = quiet_until(record.channel, record.message.ad, now)
        if until is None:
            return None
        window = quiet_window(record.channel)
        if self._settings.quiet_hours == "suppress":
            reason = f"suppressed: advertising is not sent {window}"
            return Transition(
                message_id=record.id,
                status=Status.SUPPRESSED,
                reason=reason,
                expect=_SENDING,
                report=self._report(None),
            )
        reason = f"held: advertising is not sent {window}; sending when the window opens"
        return Transition(
            message_id=record.id, status=Status.HELD, reason=reason, expect=_SENDING, next_attempt_at=until
        )

    async def _hold(self, moves: list[Transition]) -> None:
        """Hold (or suppress) a claim's advertising in quiet hours in one transaction, as one at a time would."""
        try:
            self._announce(moves, await self._store.transition_many(moves, now=self._clock()))
        except StoreUnavailable:
            # Not the messages' fault: they keep their leases and are claimed again once the store is back.
            _log.warning("store unavailable while holding messages for quiet hours", extra={"count": len(moves)})
        except Exception:  # nothing was sent: the messages are claimed again when their leases run out
            _log.exception("holding messages for quiet hours failed", extra={"count": len(moves)})
        finally:
            self._done(move.message_id for move in moves)

    async def _deliver(self, record: StoredMessage, message: OutboundMessage | None = None) -> None:
        """Send ``record`` alone (``message``: as it goes, its kakao image already resolved) and conclude."""
        adapter = self._adapters.get((record.vendor, record.channel))
        if adapter is None:  # the configuration changed since ingest: retrying cannot help
            reason = f"{record.vendor} is not configured for {record.channel} on this gateway"
            await self._store.transition(
                record.id, Status.DEAD, reason, now=self._clock(), expect=_SENDING, report=self._report(None)
            )
            status_changed(record.id, Status.DEAD)
            return
        route = (record.vendor, record.channel)
        lookup = self._lookups.get(route)
        number = record.attempt_count
        if lookup is not None and record.attempt_count:
            settled = await self._settle_by_lookup(record, lookup)
            if settled is None:
                return
            number = settled
        gate = self.gates.get(record.vendor, record.channel)
        if message is None:
            message = await self._with_vendor_image(record)

        async def attempt() -> _Tried:
            nonlocal number
            request = adapter.build(message, record.id, send_key=_send_key(record))
            async with gate.admit() as admission:
                if admission == "open":
                    raise _Paused
                number += 1
                started = self._clock()
                if not adapter.idempotent or lookup is not None or route in self._batch_adapters:
                    # Durably, before the call: a crash during it leaves this mark, and the vendor's lookup (or,
                    # without one, `unknown`) settles the send. At a batch vendor always: sent again, the message
                    # may go in a batch, whose request key is not this request's.
                    await self._store.begin_send(record.id, now=started)
                result = await send(self._client, adapter, request)
            if lookup is None and isinstance(result.outcome, Uncertain):
                # Nothing to ask: tried again as before (the vendor's idempotency key, where it has one, keeps
                # it single).
                outcome = Retryable(result.outcome.code, result.outcome.detail)
                result = SendResult(outcome, result.http_status, result.duration_ms)
            await gate.breaker.record(
                transient_failure=isinstance(result.outcome, Retryable | Uncertain), probe=admission == "probe"
            )
            self._observe(record, result)
            return _Tried(result, _attempt_record(number, started, result), request.redacted())

        async def record_retry(state: tenacity.RetryCallState) -> None:
            tried: _Tried = state.outcome.result()  # type: ignore[union-attr]
            logged = tried.attempt
            reason = f"attempt {logged.number} failed ({describe(logged.vendor_code, logged.detail)}); retrying"
            await self._store.record_attempt(record.id, logged, reason, now=self._clock(), vendor_request=tried.request)

        try:
            tried = await call_with_retries(attempt, sleep=self._sleep, before_sleep=record_retry)
        except _Paused:
            why = f"{product_of(record.vendor, record.channel)}'s circuit breaker is open"
            if not await self._fail_over(record, why, number):
                await self._release(record, gate)
            return
        if attempt_was_outage(tried.attempt):
            why = f"{record.vendor} answered an outage ({describe(tried.attempt.vendor_code, tried.attempt.detail)})"
            if await self._fail_over(record, why, number, tried):
                return
        await self._conclude(record, tried.send, tried.attempt, tried.request)

    async def _send_route(self, route: tuple[str, str], records: list[StoredMessage]) -> None:
        """Send one route's batchable messages (see :meth:`_partition`) in as few requests as the limits allow.

        Their kakao images are resolved first (a batch key covers the content as sent); messages with equal batch
        keys then share requests of at most the vendor's ``max_batch`` and the gate's ``batch_limit``, never naming
        one recipient twice where the vendor cares. A message that shares its request with no other goes alone, on
        the usual path; so does every message of the route should the planning itself fail.
        """
        adapter = self._batch_adapters[route]
        gate = self.gates.get(*route)
        try:
            alone, batches = await self._plan(route, adapter, gate, records)
        except Exception:
            _log.exception("could not group a route's messages into batches; sending each alone")
            alone, batches = [(record, None) for record in records], []
        await asyncio.gather(
            *(self._process(r) if m is None else self._guard(r, self._deliver(r, m)) for r, m in alone),
            *(self._send_batch(route, adapter, gate, members) for members in batches),
        )

    async def _plan(
        self, route: tuple[str, str], adapter: BatchAdapter, gate: VendorGate, records: list[StoredMessage]
    ) -> tuple[list[tuple[StoredMessage, OutboundMessage | None]], list[list[_Member]]]:
        """Which messages go alone (with the message as it goes, or ``None`` for the whole usual path) and which
        share requests."""
        alone: list[tuple[StoredMessage, OutboundMessage | None]] = []
        records, looked_up = await self._without_pending_lookups(route, records)
        alone.extend((record, None) for record in looked_up)
        messages: list[OutboundMessage | BaseException] = [record.message for record in records]
        imaged = [index for index, record in enumerate(records) if self._needs_vendor_image(record)]
        if imaged:
            found = await asyncio.gather(*(self._with_vendor_image(records[i]) for i in imaged), return_exceptions=True)
            for index, message in zip(imaged, found, strict=True):
                messages[index] = message
        keyed: list[tuple[Hashable, _Member]] = []
        for record, message in zip(records, messages, strict=True):
            if isinstance(message, BaseException):  # tried again, and counted against it alone, on the usual path
                alone.append((record, None))
                continue
            key = _batch_key(adapter, message)
            if key is None:
                alone.append((record, message))
            else:
                keyed.append((key, _Member(record, message)))
        batches: list[list[_Member]] = []
        for members in chunks(keyed, min(adapter.max_batch, gate.batch_limit), _recipient_of(adapter)):
            if len(members) == 1:
                alone.append((members[0].record, members[0].message))
            else:
                batches.append(members)
        return alone, batches

    async def _without_pending_lookups(
        self, route: tuple[str, str], records: list[StoredMessage]
    ) -> tuple[list[StoredMessage], list[StoredMessage]]:
        """Set apart the messages whose last attempt is an unsettled uncertain one: each is looked up alone first.

        At a product with a lookup, a message tried before may owe one; its last attempt says (:func:`_owes_lookup`,
        one read for all of them). Should the read fail, every message tried before goes alone, where its
        attempts are read in full.
        """
        retried = [record.id for record in records if record.attempt_count] if route in self._lookups else []
        if not retried:
            return records, []
        try:
            last = await self._store.last_attempts(retried)
        except Exception:
            _log.warning("could not read the last attempts of a batch", exc_info=True, extra={"count": len(retried)})
            return [r for r in records if not r.attempt_count], [r for r in records if r.attempt_count]
        owing = {message_id for message_id, attempt in last.items() if _owes_lookup(attempt)}
        return [r for r in records if r.id not in owing], [r for r in records if r.id in owing]

    async def _send_batch(
        self, route: tuple[str, str], adapter: BatchAdapter, gate: VendorGate, members: list[_Member]
    ) -> None:
        """Send ``members`` in one request, settle each by its own outcome, and retry in-process only the retryable.

        Every message of a request is marked as sent before it goes (``Store.begin_send_many``): a batch's
        membership changes from claim to claim, so no vendor idempotency key protects a resend after a crash, and
        a message cut off during the call is looked up when claimed again (docs/ARCHITECTURE.md, "Batches").
        """
        pending, tries, called = members, 0, False
        try:
            while pending:
                tries += 1
                items = [member.item for member in pending]
                try:
                    request = adapter.build_batch(items)
                except Exception:  # one poison message must not fail the others: each goes alone
                    _log.warning("batch request could not be built; sending its messages one by one", exc_info=True)
                    await asyncio.gather(*(self._alone(member) for member in pending))
                    return
                async with gate.admit(len(items)) as admission:
                    if admission != "open":
                        started = self._clock()
                        await self._store.begin_send_many([member.record.id for member in pending], now=started)
                        called = True
                        result = await send_batch(self._client, adapter, request, items)
                if admission == "open":
                    await self._turned_away(route, gate, pending)
                    return
                _log.debug(
                    "vendor answered a batch",
                    extra={
                        "vendor": route[0],
                        "channel": route[1],
                        "count": len(items),
                        "http_status": result.http_status,
                    },
                )
                outcomes = [self._as_settled(route, outcome) for outcome in result.outcomes]
                transient = all(isinstance(outcome, Retryable | Uncertain) for outcome in outcomes)
                await gate.breaker.record(transient_failure=transient, probe=admission == "probe")
                _observe_batch(route, result, outcomes)
                pending, wait = await self._settle_batch(adapter, pending, outcomes, result, started, tries)
                called = False
                if pending:
                    await self._sleep(wait)
        except StoreUnavailable:
            # Not the messages' fault: they keep their leases and are claimed again once the store is back.
            _log.warning(
                "store unavailable while dispatching a batch", extra={"vendor": route[0], "count": len(pending)}
            )
        except Exception as exc:
            if called:
                # The vendor may have them: left marked, and settled by their lookup when claimed again.
                _log.error("batch dispatch failed during its call", exc_info=exc, extra={"vendor": route[0]})
            else:
                await asyncio.gather(
                    *(self._guard(member.record, self._count_internal_error(member.record, exc)) for member in pending)
                )
        finally:
            self._done(member.record.id for member in members)

    def _as_settled(self, route: tuple[str, str], outcome: Outcome) -> Outcome:
        """An uncertain outcome at a product without a lookup is retried, as a message sent alone would be."""
        if isinstance(outcome, Uncertain) and route not in self._lookups:
            return Retryable(outcome.code, outcome.detail)
        return outcome

    async def _settle_batch(
        self,
        adapter: BatchAdapter,
        members: list[_Member],
        outcomes: list[Outcome],
        result: BatchResult,
        started: float,
        tries: int,
    ) -> tuple[list[_Member], float]:
        """Record one batch request's answer for each message; return those to send again in-process, and when.

        Accepted, permanent (a kakao fallback included), uncertain and rescheduled messages are written in one
        ``transition_many``, exactly as :meth:`_conclude` decides for a message alone; the retryable ones keep
        their claim (``record_attempts``). A message whose vendor answered an outage and whose channel has a next
        vendor goes on alone through :meth:`_fail_over`.
        """
        now = self._clock()
        moves: list[Transition] = []
        again: list[_Member] = []
        entries: list[AttemptEntry] = []
        failing_over: list[Awaitable[None]] = []
        wait = 0.0
        for member, outcome in zip(members, outcomes, strict=True):
            member.number += 1
            send = SendResult(outcome, result.http_status, result.duration_ms)
            tried = _Tried(send, _attempt_record(member.number, started, send), member.sent(adapter))
            if isinstance(outcome, Retryable) and _retried_in_process(outcome, tries):
                again.append(member)
                problem = describe(outcome.code, outcome.detail)
                reason = f"attempt {member.number} failed ({problem}); retrying"
                entries.append(
                    AttemptEntry(
                        message_id=member.record.id, attempt=tried.attempt, reason=reason, vendor_request=tried.request
                    )
                )
                wait = max(wait, in_process_wait(tries, outcome.retry_after))
            elif attempt_was_outage(tried.attempt) and self._may_fail_over(member.record):
                failing_over.append(self._guard(member.record, self._after_outage(member, tried)))
            else:
                moves.append(self._move(member.record, tried, now))
        if moves:
            self._announce(moves, await self._store.transition_many(moves, now=now))
            self._done(move.message_id for move in moves)
        if entries:
            await self._store.record_attempts(entries, now=now)
        await asyncio.gather(*failing_over)
        return again, wait

    def _move(self, record: StoredMessage, tried: _Tried, now: float) -> Transition:
        """The store write of :meth:`_conclude`'s decision for a message of a batch."""
        decided = self._verdict(record, tried.outcome, tried.attempt, now)
        child = self._fallback_message(record, decided.reason, now) if decided.fall_back else None
        return Transition(
            message_id=record.id,
            status=decided.status,
            reason=decided.reason if child is None else _fallback_reason(decided.reason, child.id),
            expect=_SENDING,
            attempt=tried.attempt,
            next_attempt_at=decided.next_attempt_at,
            vendor_message_id=decided.vendor_message_id,
            vendor_request=tried.request,
            report=self._report(decided.code) if decided.reported else None,
            fallback=child,
        )

    @staticmethod
    def _announce(moves: list[Transition], moved: list[bool]) -> None:
        for move, went in zip(moves, moved, strict=True):
            if not went:
                _log.info("message moved by someone else", extra={"message_id": move.message_id})
                continue
            attempt = move.attempt
            if attempt is None:
                status_changed(move.message_id, move.status)
            elif move.fallback is not None:
                status_changed(move.message_id, move.status, code=attempt.vendor_code, child_id=move.fallback.id)
            else:
                status_changed(move.message_id, move.status, code=attempt.vendor_code, attempt=attempt.number)

    def _may_fail_over(self, record: StoredMessage) -> bool:
        """Whether :meth:`_fail_over` could move ``record`` at all (it checks the attempts itself)."""
        return record.message.vendor is None and self._next_vendor(record.vendor, record.channel) is not None

    async def _after_outage(self, member: _Member, tried: _Tried) -> None:
        """As :meth:`_deliver` after an outage: on through the next vendor, else concluded here."""
        record = member.record
        why = f"{record.vendor} answered an outage ({describe(tried.attempt.vendor_code, tried.attempt.detail)})"
        if not await self._fail_over(record, why, member.number, tried):
            await self._conclude(record, tried.send, tried.attempt, tried.request)

    async def _turned_away(self, route: tuple[str, str], gate: VendorGate, members: list[_Member]) -> None:
        """The breaker admitted no batch request: each message fails over or goes back untried, as one alone would."""
        why = f"{product_of(*route)}'s circuit breaker is open"

        async def one(member: _Member) -> None:
            if not await self._fail_over(member.record, why, member.number):
                await self._release(member.record, gate)

        await asyncio.gather(*(self._guard(member.record, one(member)) for member in members))

    async def _alone(self, member: _Member) -> None:
        record = msgspec.structs.replace(member.record, attempt_count=member.number)
        await self._guard(record, self._deliver(record, member.message))

    def _needs_vendor_image(self, record: StoredMessage) -> bool:
        images = self._images
        return (
            images is not None
            and record.channel == "kakao"
            and bool(record.message.image_url)
            and images.handles(record.vendor)
        )

    async def _with_vendor_image(self, record: StoredMessage) -> OutboundMessage:
        """The message as sent: its image replaced by the vendor's upload, or left out with a note saying why."""
        message = record.message
        images = self._images
        if images is None or not self._needs_vendor_image(record) or not message.image_url:
            return message
        try:
            vendor_image = await images.vendor_image(record.vendor, message.image_url)
        except ImageRefused as exc:
            # The channel's choice (docs/vendors.md, "Kakao images"): the text still goes, without the image.
            await self._store.note(record.id, f"image left out: {exc.reason}", now=self._clock())
            return msgspec.structs.replace(message, image_url=None)
        return msgspec.structs.replace(message, image_url=vendor_image)

    async def _fail_over(self, record: StoredMessage, why: str, attempts: int, tried: _Tried | None = None) -> bool:
        """Send ``record`` through its channel's next vendor, if it may go (see :mod:`gateway.dispatch.failover`).

        ``attempts`` is the message's attempt count so far and ``tried`` this claim's last attempt, not recorded
        yet. Returns whether the message went on; if not, nothing was written.
        """
        if record.message.vendor is not None:  # the body chose its vendor
            return False
        channel = record.channel
        target = self._next_vendor(record.vendor, channel)
        if target is None:
            return False
        detail = await self._store.get(record.id)
        # A message leaves a vendor only when all its attempts there were outages, so all its attempts anywhere were.
        earlier = () if detail is None else detail.attempts
        if not may_fail_over([*earlier, *([tried.attempt] if tried else [])]):
            return False
        now = self._clock()
        if tried is not None:
            logged = tried.attempt
            reason = f"attempt {logged.number} failed ({describe(logged.vendor_code, logged.detail)})"
            await self._store.record_attempt(record.id, logged, reason, now=now, vendor_request=tried.request)
        reason = f"failover: {why}; sending through {target} instead (next in GATEWAY_{channel.upper()}_VENDOR)"
        await self._store.switch_vendor(record.id, target, reason, now=now)
        status_changed(record.id, Status.SENDING, failover_from=record.vendor, vendor=target)
        await self._deliver(msgspec.structs.replace(record, vendor=target, attempt_count=attempts))
        return True

    def _next_vendor(self, vendor: str, channel: str) -> str | None:
        """The vendor after ``vendor`` in ``channel``'s failover order that is configured and not paused."""
        chain = self._settings.vendor_chain(channel)
        ready = {
            other
            for other in chain
            if (other, channel) in self._adapters and not self.gates.get(other, channel).breaker.paused()
        }
        return next_vendor(chain, vendor, ready)

    async def _release(self, record: StoredMessage, gate: VendorGate) -> None:
        """Put a claimed message back untried: its vendor product's circuit breaker admits no call now."""
        now = self._clock()
        next_at = max(gate.breaker.retry_at(), now + 1.0)
        product = product_of(record.vendor, record.channel)
        if record.past_budget(next_at, self._settings.retry_budget):
            reason = f"not sent: {product}'s circuit breaker is open and the retry budget is spent"
            await self._store.transition(
                record.id, Status.DEAD, reason, now=now, expect=_SENDING, report=self._report(None)
            )
            status_changed(record.id, Status.DEAD, breaker="open")
            return
        state = gate.breaker.state()
        why = "its probe call is out" if state == "half-open" else "its vendor keeps failing"
        reason = f"not sent: {product}'s circuit breaker is {state} ({why}); back in the queue untried"
        await self._store.transition(
            record.id, Status.RETRYING, reason, now=now, expect=_SENDING, next_attempt_at=next_at
        )
        status_changed(record.id, Status.RETRYING, breaker=state)

    async def _ended_uncertain(self, record: StoredMessage) -> bool:
        """Settle a message whose previous claim died during a call to its vendor; whether it was such a one.

        The vendor may have it: sending again could deliver it twice. Where the product has a lookup, the cut-off
        call is recorded as an uncertain attempt and looked up like any other (docs/ARCHITECTURE.md, "Uncertain
        sends"). Otherwise, at a vendor without idempotency keys, it ends ``unknown`` and keeps its
        ``send_started_at`` mark; nothing is reported to Braze. Where the vendor honours its idempotency key, it is
        simply sent again, except at a batch vendor, whose key covered a request rather than this message
        (docs/ARCHITECTURE.md, "Batches").
        """
        adapter = self._adapters.get((record.vendor, record.channel))
        if not record.uncertain or adapter is None:
            return False
        started = record.send_started_at or 0.0
        product = product_of(record.vendor, record.channel)
        if (record.vendor, record.channel) in self._lookups:
            now = self._clock()
            cut_off = Attempt(
                number=record.attempt_count + 1,
                started_at=started,
                duration_ms=0.0,
                outcome="uncertain",
                vendor_code="cut-off",
                detail="its process stopped during the call",
            )
            reason = (
                f"attempt {cut_off.number}: a call to {product} began at {_utc(started)} and its process stopped "
                f"before the answer was recorded; asking {record.vendor} whether it has the message"
            )
            await self._store.transition(
                record.id,
                Status.RETRYING,
                reason,
                now=now,
                expect=_SENDING,
                attempt=cut_off,
                next_attempt_at=now + self._settings.lookup_delay,
            )
            status_changed(record.id, Status.RETRYING, uncertain_send=True)
            return True
        # A batch adapter's mark may come from a batch request, whose key covered that request, not this message.
        if adapter.idempotent and (record.vendor, record.channel) not in self._batch_adapters:
            return False
        reason = (
            f"uncertain send: a call to {product} began at {_utc(started)} and its process stopped before the "
            f"answer was recorded; not sent again, as {product} honours no idempotency key "
            "(the vendor's lookup can tell whether it arrived)"
        )
        await self._store.transition(record.id, Status.UNKNOWN, reason, now=self._clock(), expect=_SENDING)
        status_changed(record.id, Status.UNKNOWN, uncertain_send=True)
        return True

    async def _conclude(
        self, record: StoredMessage, result: SendResult, logged: Attempt, sent: dict[str, object]
    ) -> None:
        now = self._clock()
        # Debug: the state it leads to is logged as a ``message.status`` event; at info this line was one more
        # JSON line for every send (bench/README.md, Pipeline).
        _log.debug(
            "vendor answered",
            extra={
                "message_id": record.id,
                "channel": record.channel,
                "vendor": record.vendor,
                "outcome": logged.outcome,
                "code": result.outcome.code,
                "http_status": result.http_status,
                "attempt": logged.number,
                "duration_ms": result.duration_ms,
            },
        )
        decided = self._verdict(record, result.outcome, logged, now)
        if decided.fall_back:
            await self.fall_back(record, decided.reason, logged, sent=sent)
            return
        await self._end(
            _Ended(record.id, logged, sent, now),
            decided.status,
            decided.reason,
            next_attempt_at=decided.next_attempt_at,
            vendor_message_id=decided.vendor_message_id,
            report=self._report(decided.code) if decided.reported else None,
        )

    def _verdict(self, record: StoredMessage, outcome: Outcome, logged: Attempt, now: float) -> Verdict:
        def paused_until() -> float:
            return self.gates.get(record.vendor, record.channel).breaker.paused_until

        return verdict(record, outcome, logged, now=now, settings=self._settings, paused_until=paused_until)

    async def _settle_by_lookup(self, record: StoredMessage, lookup: Lookup) -> int | None:
        """Ask the vendor about a message whose last send is uncertain.

        Found: accepted, never sent again. Not found: the lookup is recorded and the caller sends it again (once
        per uncertain send). Cannot tell: asked again after a doubling wait, ``unknown`` after
        ``lookup_attempts`` lookups rather than risk sending twice. Each lookup is an attempt on the timeline.

        Returns:
            The attempts recorded so far when the caller is to send, ``None`` when the lookup ended the claim.
        """
        detail = await self._store.get(record.id)
        pending = _pending_uncertain(detail.attempts) if detail is not None else None
        if pending is None:
            return record.attempt_count
        uncertain, asked = pending
        started = self._clock()
        clock_start = time.perf_counter()
        target = LookupTarget(
            message_id=record.id,
            phone=record.message.phone,
            email=record.message.email,
            sent_at=uncertain.started_at,
            now=started,
        )
        result = await lookup(self._client, target)
        duration = round((time.perf_counter() - clock_start) * 1000, 3)
        kind = {Found: "found", NotFound: "not_found"}.get(type(result), "cannot_tell")
        logged = Attempt(
            number=record.attempt_count + 1,
            started_at=started,
            duration_ms=duration,
            outcome="lookup",
            vendor_code=kind,
            detail=result.detail,
        )
        ended = _Ended(record.id, logged, None, self._clock())
        which = f"lookup {asked + 1} of attempt {uncertain.number}"
        if isinstance(result, Found):
            reason = f"{which}: {record.vendor} has the message ({result.detail}); not sent again"
            await self._end(ended, Status.ACCEPTED, reason, vendor_message_id=result.vendor_message_id)
            return None
        if isinstance(result, NotFound):
            reason = f"{which}: {record.vendor} does not have the message ({result.detail}); sending it again"
            await self._store.record_attempt(record.id, logged, reason, now=ended.now)
            return logged.number
        if asked + 1 >= self._settings.lookup_attempts:
            reason = (
                f"{which}: {result.detail}; {record.vendor} could not tell after {asked + 1} lookups: "
                "ended unknown rather than risk sending twice"
            )
            await self._end(ended, Status.UNKNOWN, reason, report=self._report("uncertain"))
            return None
        next_at = ended.now + self._settings.lookup_delay * 2 ** (asked + 1)
        reason = f"{which}: {result.detail}; asking again in {next_at - ended.now:g} s"
        await self._end(ended, Status.RETRYING, reason, next_attempt_at=next_at)
        return None

    async def _end(
        self,
        ended: _Ended,
        status: Status,
        reason: str,
        *,
        next_attempt_at: float | None = None,
        vendor_message_id: str | None = None,
        report: Report | None = None,
    ) -> None:
        """Move a message out of ``sending`` with the attempt that ended its claim."""
        await self._store.transition(
            ended.message_id,
            status,
            reason,
            now=ended.now,
            expect=_SENDING,
            attempt=ended.attempt,
            vendor_request=ended.request,
            next_attempt_at=next_attempt_at,
            vendor_message_id=vendor_message_id,
            report=report,
        )
        status_changed(ended.message_id, status, code=ended.attempt.vendor_code, attempt=ended.attempt.number)

    def _observe(self, record: StoredMessage, result: SendResult) -> None:
        metrics.VENDOR_LATENCY.labels(record.vendor, record.channel).observe(result.duration_ms / 1000)
        metrics.ATTEMPTS.labels(record.vendor, record.channel, _outcome_name(result)).inc()

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
        now = self._clock()
        if logged is not None:
            reason_for_attempt = f"attempt {logged.number}: {logged.detail}"
            await self._store.record_attempt(record.id, logged, reason_for_attempt, now=now, vendor_request=sent)
        child = self._fallback_message(record, reason, now)
        await self._store.link_fallback(
            record.id,
            child,
            _fallback_reason(reason, child.id),
            now=now,
            expect=expect,
            report=self._report(logged.vendor_code if logged else code),
        )
        status_changed(record.id, Status.FALLBACK, code=logged.vendor_code if logged else code, child_id=child.id)

    def _report(self, code: str | None) -> Report | None:
        """The Braze report that goes with a final state, when feedback is configured."""
        return Report(code) if self._settings.braze_feedback else None

    def _fallback_message(self, record: StoredMessage, reason: str, now: float) -> NewMessage:
        return NewMessage(
            id=new_message_id(),
            idempotency_key=f"fallback:{record.id}",
            vendor=self._settings.lms_vendor,
            message=lms_from_kakao(record.message, self._policy),
            raw_body=b"",
            status=Status.QUEUED,
            next_attempt_at=now,
            created_at=now,
            reason=f"fallback from kakao message {record.id}: {reason}",
            parent_id=record.id,
        )


class _Paused(Exception):
    """The vendor product's circuit breaker admits no call: the message goes back to the queue untried."""


class _Member:
    """One message of a batch request: its claim, the message as it goes, and its attempts so far."""

    __slots__ = ("_sent", "item", "message", "number", "record")

    def __init__(self, record: StoredMessage, message: OutboundMessage) -> None:
        self.record = record
        self.message = message
        self.item = BatchItem(message=message, message_id=record.id, send_key=_send_key(record))
        self.number = record.attempt_count
        self._sent: dict[str, object] | None = None

    def sent(self, adapter: BatchAdapter) -> dict[str, object]:
        """The request kept with this message: the batch request built for it alone, secrets redacted.

        Not the whole batch: copying every recipient onto every message would store a batch n times over.
        """
        if self._sent is None:
            self._sent = adapter.build_batch([self.item]).redacted()
        return self._sent


def _batch_key(adapter: BatchAdapter, message: OutboundMessage) -> Hashable | None:
    """The message's batch key; ``None`` (it goes alone) when the adapter cannot tell."""
    try:
        return adapter.batch_key(message)
    except Exception:  # the usual path builds it alone and counts the failure against it
        return None


def _recipient_of(adapter: BatchAdapter) -> Callable[[_Member], Hashable] | None:
    """Who a message goes to, where the vendor must not see a recipient twice in one request (SendGrid refuses it,
    NHN does not say what it does); ``None`` where it may."""
    if not isinstance(adapter, DistinctRecipients):
        return None
    return lambda member: adapter.recipient_key(member.message)


def _retried_in_process(outcome: Retryable, tries: int) -> bool:
    """As :func:`~gateway.dispatch.retry.call_with_retries`: up to its attempts, unless the vendor asks for long."""
    return tries < IN_PROCESS_ATTEMPTS and (outcome.retry_after or 0.0) <= SHORT_WAIT_LIMIT


def _observe_batch(route: tuple[str, str], result: BatchResult, outcomes: list[Outcome]) -> None:
    """One latency sample per request (it is the vendor's latency), attempts counted per message."""
    metrics.VENDOR_LATENCY.labels(*route).observe(result.duration_ms / 1000)
    for name, count in Counter(_OUTCOME_NAMES[type(outcome)] for outcome in outcomes).items():
        metrics.ATTEMPTS.labels(*route, name).inc(count)


def _fallback_reason(reason: str, child_id: str) -> str:
    return f"{reason}; sent on as LMS {child_id}"


def _utc(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _send_key(record: StoredMessage) -> str:
    """The vendor idempotency key: stable across the retries of one send, new after a staff replay."""
    return record.id if record.replayed_at is None else f"{record.id}-r{int(record.replayed_at * 1000)}"


class _Ended(NamedTuple):
    """The claim an attempt ended: the message, the attempt, the request as sent (none for an internal error), when."""

    message_id: str
    attempt: Attempt
    request: dict[str, object] | None
    now: float


class _Tried(NamedTuple):
    """One attempt: the send result, its log entry and the request as stored (secrets redacted)."""

    send: SendResult
    attempt: Attempt
    request: dict[str, object]

    @property
    def outcome(self) -> Outcome:
        return self.send.outcome


def _attempt_record(number: int, started: float, result: SendResult) -> Attempt:
    outcome = result.outcome
    return Attempt(
        number=number,
        started_at=started,
        duration_ms=result.duration_ms,
        outcome=_outcome_name(result),
        http_status=result.http_status,
        vendor_code=outcome.code,
        detail=outcome.detail or ("accepted" if isinstance(outcome, Accepted) else ""),
    )


_OUTCOME_NAMES: dict[type, AttemptOutcome] = {
    Accepted: "accepted",
    Retryable: "retryable",
    Permanent: "permanent",
    Uncertain: "uncertain",
}


def _pending_uncertain(attempts: tuple[Attempt, ...]) -> tuple[Attempt, int] | None:
    """The last attempt, if uncertain and not yet settled, with how many lookups could not tell since."""
    for asked, attempt in enumerate(reversed(attempts)):
        if attempt.outcome == "uncertain":
            return attempt, asked
        if attempt.outcome != "lookup" or attempt.vendor_code != "cannot_tell":
            return None
    return None


def _owes_lookup(last: Attempt) -> bool:
    """Whether a message whose last attempt is ``last`` has an uncertain send to settle (as :func:`_pending_uncertain`
    finds it: the uncertain attempt itself, or a lookup since that could not tell)."""
    return last.outcome == "uncertain" or (last.outcome == "lookup" and last.vendor_code == "cannot_tell")


def _outcome_name(result: SendResult) -> AttemptOutcome:
    return _OUTCOME_NAMES[type(result.outcome)]


def _error_name(exc: Exception) -> str:
    """The exception's type and where it was raised (file, line, function): no message, which may hold data."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return type(exc).__name__
    frame = frames[-1]
    where = "/".join(frame.filename.replace("\\", "/").split("/")[-2:])
    return f"{type(exc).__name__} at {where}:{frame.lineno} in {frame.name}"
