"""How a claim ends in the store: a vendor's answer concluded, an internal error counted, a message put back
untried or held for quiet hours, a kakao message handed to LMS.

Each decision is one transaction (``Store.transition``, ``Store.link_fallback``), or one for a batch request's
messages (:meth:`Endings.move`, written with ``Store.transition_many``; docs/ARCHITECTURE.md, "Batches").
"""

from __future__ import annotations

import logging

from adapters.base import SendResult
from adapters.contract import Outcome
from adapters.registry import product_of
from gateway import metrics
from gateway.channels.lms import lms_from_kakao
from gateway.channels.quiet_hours import quiet_until, quiet_window
from gateway.dispatch.attempts import SENDING, Ended, Tried, error_name, fallback_reason
from gateway.dispatch.limits import VendorGate
from gateway.dispatch.retry import rescheduled_delay
from gateway.dispatch.settle import Verdict, verdict
from gateway.dispatch.wiring import Wiring
from gateway.events import status_changed
from gateway.models import Attempt, NewMessage, Status, StoredMessage, new_message_id
from gateway.store.base import Report, Transition

__all__ = ("Endings", "announce")

_log = logging.getLogger(__name__)


class Endings:
    """Writes where each claim ends.

    Args:
        wiring: The store, settings, gates and clock.
    """

    def __init__(self, wiring: Wiring) -> None:
        self._wiring = wiring
        self._store = wiring.store
        self._settings = wiring.settings
        self._clock = wiring.clock

    async def end(
        self,
        ended: Ended,
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
            expect=SENDING,
            attempt=ended.attempt,
            vendor_request=ended.request,
            next_attempt_at=next_attempt_at,
            vendor_message_id=vendor_message_id,
            report=report,
        )
        status_changed(ended.message_id, status, code=ended.attempt.vendor_code, attempt=ended.attempt.number)

    async def conclude(
        self, record: StoredMessage, result: SendResult, logged: Attempt, sent: dict[str, object]
    ) -> None:
        """End the claim of a message sent alone as the vendor's answer ``result`` decides."""
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
        await self.end(
            Ended(record.id, logged, sent, now),
            decided.status,
            decided.reason,
            next_attempt_at=decided.next_attempt_at,
            vendor_message_id=decided.vendor_message_id,
            report=self._wiring.report(decided.code) if decided.reported else None,
        )

    def move(self, record: StoredMessage, tried: Tried, now: float) -> Transition:
        """The store write of :meth:`conclude`'s decision for a message of a batch."""
        decided = self._verdict(record, tried.outcome, tried.attempt, now)
        child = self._fallback_message(record, decided.reason, now) if decided.fall_back else None
        return Transition(
            message_id=record.id,
            status=decided.status,
            reason=decided.reason if child is None else fallback_reason(decided.reason, child.id),
            expect=SENDING,
            attempt=tried.attempt,
            next_attempt_at=decided.next_attempt_at,
            vendor_message_id=decided.vendor_message_id,
            vendor_request=tried.request,
            report=self._wiring.report(decided.code) if decided.reported else None,
            fallback=child,
        )

    def _verdict(self, record: StoredMessage, outcome: Outcome, logged: Attempt, now: float) -> Verdict:
        def paused_until() -> float:
            return self._wiring.gates.get(record.vendor, record.channel).breaker.paused_until

        return verdict(record, outcome, logged, now=now, settings=self._settings, paused_until=paused_until)

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
        """:meth:`Dispatcher.fall_back <gateway.dispatch.dispatcher.Dispatcher.fall_back>`."""
        now = self._clock()
        if logged is not None:
            reason_for_attempt = f"attempt {logged.number}: {logged.detail}"
            await self._store.record_attempt(record.id, logged, reason_for_attempt, now=now, vendor_request=sent)
        child = self._fallback_message(record, reason, now)
        await self._store.link_fallback(
            record.id,
            child,
            fallback_reason(reason, child.id),
            now=now,
            expect=expect,
            report=self._wiring.report(logged.vendor_code if logged else code),
        )
        status_changed(record.id, Status.FALLBACK, code=logged.vendor_code if logged else code, child_id=child.id)

    def _fallback_message(self, record: StoredMessage, reason: str, now: float) -> NewMessage:
        return NewMessage(
            id=new_message_id(),
            idempotency_key=f"fallback:{record.id}",
            vendor=self._settings.lms_vendor,
            message=lms_from_kakao(record.message, self._wiring.policy),
            raw_body=b"",
            status=Status.QUEUED,
            next_attempt_at=now,
            created_at=now,
            reason=f"fallback from kakao message {record.id}: {reason}",
            parent_id=record.id,
        )

    async def count_internal_error(self, record: StoredMessage, exc: Exception) -> None:
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
        error = error_name(exc)
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
        ended = Ended(record.id, attempt, None, now)
        if failures >= bound or record.past_budget(next_at, self._settings.retry_budget):
            await self.end(ended, Status.DEAD, f"{counted}; giving up", report=self._wiring.report(None))
        else:
            await self.end(ended, Status.RETRYING, f"{counted}; next attempt scheduled", next_attempt_at=next_at)

    async def release(self, record: StoredMessage, gate: VendorGate) -> None:
        """Put a claimed message back untried: its vendor product's circuit breaker admits no call now."""
        now = self._clock()
        next_at = max(gate.breaker.retry_at(), now + 1.0)
        product = product_of(record.vendor, record.channel)
        if record.past_budget(next_at, self._settings.retry_budget):
            reason = f"not sent: {product}'s circuit breaker is open and the retry budget is spent"
            await self._store.transition(
                record.id, Status.DEAD, reason, now=now, expect=SENDING, report=self._wiring.report(None)
            )
            status_changed(record.id, Status.DEAD, breaker="open")
            return
        state = gate.breaker.state()
        why = "its probe call is out" if state == "half-open" else "its vendor keeps failing"
        reason = f"not sent: {product}'s circuit breaker is {state} ({why}); back in the queue untried"
        await self._store.transition(
            record.id, Status.RETRYING, reason, now=now, expect=SENDING, next_attempt_at=next_at
        )
        status_changed(record.id, Status.RETRYING, breaker=state)

    def quiet_move(self, record: StoredMessage, now: float) -> Transition | None:
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
                expect=SENDING,
                report=self._wiring.report(None),
            )
        reason = f"held: advertising is not sent {window}; sending when the window opens"
        return Transition(
            message_id=record.id, status=Status.HELD, reason=reason, expect=SENDING, next_attempt_at=until
        )

    async def held_for_quiet_hours(self, record: StoredMessage) -> bool:
        """Hold (or suppress) ``record`` if quiet hours say so; whether they did."""
        now = self._clock()
        move = self.quiet_move(record, now)
        if move is None:
            return False
        await self._store.transition(
            record.id,
            move.status,
            move.reason,
            now=now,
            expect=SENDING,
            next_attempt_at=move.next_attempt_at,
            report=move.report,
        )
        status_changed(record.id, move.status)
        return True


def announce(moves: list[Transition], moved: list[bool]) -> None:
    """Emit the status events of the moves ``Store.transition_many`` made (``moved``: which of them went)."""
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
