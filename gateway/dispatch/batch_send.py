"""A route's batchable messages sent in shared requests, each settled by its own result in one transaction per
request, the retryable ones retried in-process together (docs/ARCHITECTURE.md, "Batches")."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable

import msgspec

from adapters.base import SendResult
from adapters.batch import BatchAdapter, BatchResult, send_batch
from adapters.contract import Outcome, Retryable, Uncertain
from adapters.registry import product_of
from gateway import metrics
from gateway.dispatch.attempts import OUTCOME_NAMES, Tried, attempt_record
from gateway.dispatch.batch_plan import Alone, BatchPlanner, Member
from gateway.dispatch.endings import Endings, announce
from gateway.dispatch.failover import attempt_was_outage
from gateway.dispatch.limits import VendorGate
from gateway.dispatch.retry import IN_PROCESS_ATTEMPTS, SHORT_WAIT_LIMIT, in_process_wait
from gateway.dispatch.settle import describe
from gateway.dispatch.single import SingleSender
from gateway.dispatch.vendor_images import VendorImages
from gateway.dispatch.wiring import Wiring
from gateway.models import StoredMessage
from gateway.store.base import AttemptEntry, StoreUnavailable, Transition

__all__ = ("BatchSender",)

_log = logging.getLogger(__name__)


class BatchSender:
    """Sends the messages of one route that may share requests.

    Args:
        wiring: The store, batch adapters, gates, lookups, client, clock and sleep.
        endings: Where each claim ends.
        single: Sends a message that goes alone, or on through the channel's next vendor.
        planner: Groups the messages into requests.
        images: Kakao images as their vendors need them (a refusal for a gone upload is retried with a new one).
        guard: Runs work on a message so that a failure of the gateway is counted against it, never lost, and
            the message leaves this process's hands when it ends.
        process: The whole usual path of a message sent alone, guarded.
        done: Says messages left this process's hands.
    """

    def __init__(
        self,
        wiring: Wiring,
        endings: Endings,
        single: SingleSender,
        planner: BatchPlanner,
        *,
        images: VendorImages,
        guard: Callable[[StoredMessage, Awaitable[None]], Awaitable[None]],
        process: Callable[[StoredMessage], Awaitable[None]],
        done: Callable[[Iterable[str]], None],
    ) -> None:
        self._wiring = wiring
        self._endings = endings
        self._single = single
        self._planner = planner
        self._images = images
        self._guard = guard
        self._process = process
        self._done = done
        self._store = wiring.store
        self._clock = wiring.clock

    async def send_route(self, route: tuple[str, str], records: list[StoredMessage]) -> None:
        """Send one route's batchable messages in as few requests as the limits allow.

        Their kakao images are resolved first (a batch key covers the content as sent); messages with equal batch
        keys then share requests of at most the vendor's ``max_batch`` and the gate's ``batch_limit``, never naming
        one recipient twice where the vendor cares. A message that shares its request with no other goes alone, on
        the usual path; so does every message of the route should the planning itself fail.
        """
        adapter = self._wiring.batch_adapters[route]
        gate = self._wiring.gates.get(*route)
        try:
            alone, batches = await self._planner.plan(route, adapter, min(adapter.max_batch, gate.batch_limit), records)
        except Exception:
            _log.exception("could not group a route's messages into batches; sending each alone")
            alone, batches = [(record, None) for record in records], []
        await asyncio.gather(
            *(self._go_alone(alone_one) for alone_one in alone),
            *(self._send_batch(route, adapter, gate, members) for members in batches),
        )

    def _go_alone(self, alone: Alone) -> Awaitable[None]:
        record, message = alone
        if message is None:
            return self._process(record)
        return self._guard(record, self._single.deliver(record, message))

    async def _send_batch(
        self, route: tuple[str, str], adapter: BatchAdapter, gate: VendorGate, members: list[Member]
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
                        result = await send_batch(self._wiring.client, adapter, request, items)
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
                outcomes = [
                    await self._images.settled(member.record, member.message, outcome)
                    for member, outcome in zip(pending, outcomes, strict=True)
                ]
                _observe_batch(route, result, outcomes)
                pending, wait = await self._settle_batch(adapter, pending, outcomes, result, started, tries)
                called = False
                if pending:
                    await self._wiring.sleep(wait)
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
                    *(
                        self._guard(member.record, self._endings.count_internal_error(member.record, exc))
                        for member in pending
                    )
                )
        finally:
            self._done(member.record.id for member in members)

    def _as_settled(self, route: tuple[str, str], outcome: Outcome) -> Outcome:
        """An uncertain outcome at a product without a lookup is retried, as a message sent alone would be."""
        if isinstance(outcome, Uncertain) and route not in self._wiring.lookups:
            return Retryable(outcome.code, outcome.detail)
        return outcome

    async def _settle_batch(
        self,
        adapter: BatchAdapter,
        members: list[Member],
        outcomes: list[Outcome],
        result: BatchResult,
        started: float,
        tries: int,
    ) -> tuple[list[Member], float]:
        """Record one batch request's answer for each message; return those to send again in-process, and when.

        Accepted, permanent (a kakao fallback included), uncertain and rescheduled messages are written in one
        ``transition_many``, exactly as :meth:`Endings.conclude` decides for a message alone; the retryable ones
        keep their claim (``record_attempts``). A message whose vendor answered an outage and whose channel has a
        next vendor goes on alone through :meth:`SingleSender.fail_over`.
        """
        now = self._clock()
        moves: list[Transition] = []
        again: list[Member] = []
        entries: list[AttemptEntry] = []
        failing_over: list[Awaitable[None]] = []
        wait = 0.0
        for member, outcome in zip(members, outcomes, strict=True):
            member.number += 1
            send = SendResult(outcome, result.http_status, result.duration_ms)
            tried = Tried(send, attempt_record(member.number, started, send), member.sent(adapter))
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
            elif attempt_was_outage(tried.attempt) and self._single.may_fail_over(member.record):
                failing_over.append(self._guard(member.record, self._after_outage(member, tried)))
            else:
                moves.append(self._endings.move(member.record, tried, now))
        if moves:
            announce(moves, await self._store.transition_many(moves, now=now))
            self._done(move.message_id for move in moves)
        if entries:
            await self._store.record_attempts(entries, now=now)
        await asyncio.gather(*failing_over)
        return again, wait

    async def _after_outage(self, member: Member, tried: Tried) -> None:
        """As a message sent alone after an outage: on through the next vendor, else concluded here."""
        record = member.record
        why = f"{record.vendor} answered an outage ({describe(tried.attempt.vendor_code, tried.attempt.detail)})"
        if not await self._single.fail_over(record, why, member.number, tried):
            await self._endings.conclude(record, tried.send, tried.attempt, tried.request)

    async def _turned_away(self, route: tuple[str, str], gate: VendorGate, members: list[Member]) -> None:
        """The breaker admitted no batch request: each message fails over or goes back untried, as one alone would."""
        why = f"{product_of(*route)}'s circuit breaker is open"

        async def one(member: Member) -> None:
            if not await self._single.fail_over(member.record, why, member.number):
                await self._endings.release(member.record, gate)

        await asyncio.gather(*(self._guard(member.record, one(member)) for member in members))

    async def _alone(self, member: Member) -> None:
        record = msgspec.structs.replace(member.record, attempt_count=member.number)
        await self._guard(record, self._single.deliver(record, member.message))


def _retried_in_process(outcome: Retryable, tries: int) -> bool:
    """As :func:`~gateway.dispatch.retry.call_with_retries`: up to its attempts, unless the vendor asks for long."""
    return tries < IN_PROCESS_ATTEMPTS and (outcome.retry_after or 0.0) <= SHORT_WAIT_LIMIT


def _observe_batch(route: tuple[str, str], result: BatchResult, outcomes: list[Outcome]) -> None:
    """One latency sample per request (it is the vendor's latency), attempts counted per message."""
    metrics.VENDOR_LATENCY.labels(*route).observe(result.duration_ms / 1000)
    for name, count in Counter(OUTCOME_NAMES[type(outcome)] for outcome in outcomes).items():
        metrics.ATTEMPTS.labels(*route, name).inc(count)
