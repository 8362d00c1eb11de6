"""A message sent alone: in-process retries, failover to the channel's next vendor, and its conclusion
(docs/ARCHITECTURE.md, "Delivery lifecycle")."""

from __future__ import annotations

import msgspec
import tenacity

from adapters.base import SendResult, send
from adapters.contract import OutboundMessage, Retryable, Uncertain
from adapters.registry import product_of
from gateway import metrics
from gateway.dispatch.attempts import SENDING, Tried, attempt_record, outcome_name, send_key
from gateway.dispatch.endings import Endings
from gateway.dispatch.failover import attempt_was_outage, may_fail_over
from gateway.dispatch.retry import call_with_retries
from gateway.dispatch.settle import describe
from gateway.dispatch.uncertain import UncertainSends
from gateway.dispatch.vendor_images import VendorImages
from gateway.dispatch.wiring import Wiring
from gateway.events import status_changed
from gateway.models import Status, StoredMessage

__all__ = ("SingleSender",)


class _Paused(Exception):
    """The vendor product's circuit breaker admits no call: the message goes back to the queue untried."""


class SingleSender:
    """Sends one message at a time through its vendor, or the channel's next one.

    Args:
        wiring: The store, adapters, gates, lookups, client, settings, clock and sleep.
        endings: Where each claim ends.
        uncertain: Looks up a message whose last send is uncertain before it is sent again.
        images: Resolves a kakao image for the vendor.
    """

    def __init__(self, wiring: Wiring, endings: Endings, uncertain: UncertainSends, images: VendorImages) -> None:
        self._wiring = wiring
        self._endings = endings
        self._uncertain = uncertain
        self._images = images
        self._store = wiring.store
        self._clock = wiring.clock

    async def deliver(self, record: StoredMessage, message: OutboundMessage | None = None) -> None:
        """Send ``record`` alone (``message``: as it goes, its kakao image already resolved) and conclude."""
        wiring = self._wiring
        route = (record.vendor, record.channel)
        adapter = wiring.adapters.get(route)
        if adapter is None:  # the configuration changed since ingest: retrying cannot help
            reason = f"{record.vendor} is not configured for {record.channel} on this gateway"
            await self._store.transition(
                record.id, Status.DEAD, reason, now=self._clock(), expect=SENDING, report=wiring.report(None)
            )
            status_changed(record.id, Status.DEAD)
            return
        lookup = wiring.lookups.get(route)
        number = record.attempt_count
        if lookup is not None and record.attempt_count:
            settled = await self._uncertain.settle_by_lookup(record, lookup)
            if settled is None:
                return
            number = settled
        gate = wiring.gates.get(*route)
        if message is None:
            message = await self._images.message_as_sent(record)

        async def attempt() -> Tried:
            nonlocal number
            request = adapter.build(message, record.id, send_key=send_key(record))
            async with gate.admit() as admission:
                if admission == "open":
                    raise _Paused
                number += 1
                started = self._clock()
                if not adapter.idempotent or lookup is not None or route in wiring.batch_adapters:
                    # Durably, before the call: a crash during it leaves this mark, and the vendor's lookup (or,
                    # without one, `unknown`) settles the send. At a batch vendor always: sent again, the message
                    # may go in a batch, whose request key is not this request's.
                    await self._store.begin_send(record.id, now=started)
                result = await send(wiring.client, adapter, request)
            if lookup is None and isinstance(result.outcome, Uncertain):
                # Nothing to ask: tried again as before (the vendor's idempotency key, where it has one, keeps
                # it single).
                outcome = Retryable(result.outcome.code, result.outcome.detail)
                result = SendResult(outcome, result.http_status, result.duration_ms)
            await gate.breaker.record(
                transient_failure=isinstance(result.outcome, Retryable | Uncertain), probe=admission == "probe"
            )
            # After the breaker: a gone upload is the gateway's cache, not the vendor failing.
            settled = await self._images.settled(record, message, result.outcome)
            if settled is not result.outcome:
                result = SendResult(settled, result.http_status, result.duration_ms)
            metrics.VENDOR_LATENCY.labels(*route).observe(result.duration_ms / 1000)
            metrics.ATTEMPTS.labels(*route, outcome_name(result)).inc()
            return Tried(result, attempt_record(number, started, result), request.redacted())

        async def record_retry(state: tenacity.RetryCallState) -> None:
            tried: Tried = state.outcome.result()  # type: ignore[union-attr]
            logged = tried.attempt
            reason = f"attempt {logged.number} failed ({describe(logged.vendor_code, logged.detail)}); retrying"
            await self._store.record_attempt(record.id, logged, reason, now=self._clock(), vendor_request=tried.request)

        try:
            tried = await call_with_retries(attempt, sleep=wiring.sleep, before_sleep=record_retry)
        except _Paused:
            why = f"{product_of(*route)}'s circuit breaker is open"
            if not await self.fail_over(record, why, number):
                await self._endings.release(record, gate)
            return
        if attempt_was_outage(tried.attempt):
            why = f"{record.vendor} answered an outage ({describe(tried.attempt.vendor_code, tried.attempt.detail)})"
            if await self.fail_over(record, why, number, tried):
                return
        await self._endings.conclude(record, tried.send, tried.attempt, tried.request)

    def may_fail_over(self, record: StoredMessage) -> bool:
        """Whether :meth:`fail_over` could move ``record`` at all (it checks the attempts itself)."""
        return record.message.vendor is None and self._wiring.next_vendor(record.vendor, record.channel) is not None

    async def fail_over(self, record: StoredMessage, why: str, attempts: int, tried: Tried | None = None) -> bool:
        """Send ``record`` through its channel's next vendor, if it may go (see :mod:`gateway.dispatch.failover`).

        ``attempts`` is the message's attempt count so far and ``tried`` this claim's last attempt, not recorded
        yet. Returns whether the message went on; if not, nothing was written.
        """
        if record.message.vendor is not None:  # the body chose its vendor
            return False
        channel = record.channel
        target = self._wiring.next_vendor(record.vendor, channel)
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
        await self.deliver(msgspec.structs.replace(record, vendor=target, attempt_count=attempts))
        return True
