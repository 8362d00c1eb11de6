"""The receipt applier: stored vendor receipts become message states (docs/ARCHITECTURE.md, "Receipts").

Callbacks and polls only store receipts; this duty of the dispatcher applies them. Each pass claims a bounded
batch of pending receipts, finds all their messages with one query (our correlation id, else the vendor's
message id) and settles them in one transaction (:meth:`Store.settle_receipts`):

- a message that is unknown, or whose send is not recorded yet, leaves the receipt pending: it is tried again
  with a growing delay, and kept as ``unmatched`` once no message could still be waiting for it;
- ``progress`` is noted on the timeline; ``delivered`` and ``failed`` end an ``accepted`` (or ``retrying``)
  message with the vendor's code and text, and a kakao receipt whose reason is ``unreachable`` (not reachable by
  KakaoTalk) hands the message to LMS through :meth:`Dispatcher.fall_back` when the message asked for it (each
  such hand-over is its own transaction, made before the batch's);
- a receipt whose reason is ``retry_later`` (the vendor's own trouble, e.g. Kakao's) sends the message again
  later, within its retry budget, no sooner than the vendor forgets the first send's idempotency key;
- a receipt for a message that already ended is noted on its timeline (``late``) and changes nothing.

Receipts about one message are decided in arrival order, each against the state the earlier ones leave, and each
settlement that touches the message expects the status it was decided on: if the message moved meanwhile (a send
was recorded, another process applied a receipt), the store refuses that settlement alone and the receipt is
looked at again a second later.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

import msgspec

from adapters import registry
from adapters.contract import Reason
from gateway.dispatch.retry import rescheduled_delay
from gateway.events import log_event, status_changed
from gateway.models import FINAL_STATUSES, Receipt, Status, StoredMessage, StoredReceipt
from gateway.settings import Settings
from gateway.store.base import Report, Settlement, StaleTransition, Store

__all__ = ("RECEIVING", "FallBack", "ReceiptApplier", "describe")

_log = logging.getLogger(__name__)
#: Statuses a receipt can end: the vendor took the message (``retrying``: it answered badly but took it anyway).
RECEIVING = frozenset({Status.ACCEPTED, Status.RETRYING})
#: Statuses in which a receipt is settled at once; in the others (not sent yet) it waits.
_SETTLEABLE = RECEIVING | FINAL_STATUSES
_FIRST_DELAY = 1.0
_MAX_DELAY = 600.0


class FallBack(Protocol):
    """:meth:`Dispatcher.fall_back`: hand an undeliverable kakao message to LMS."""

    def __call__(
        self, record: StoredMessage, reason: str, *, code: str | None = None, expect: frozenset[Status] | None = None
    ) -> Awaitable[None]: ...


class ReceiptApplier:
    """Applies pending receipts to their messages; a :class:`~gateway.dispatch.periodic.Duty`.

    Args:
        store: Where receipts and messages are.
        fall_back: :meth:`Dispatcher.fall_back`.
        settings: Braze feedback on or off, and the receipt timeouts that bound how long a receipt waits for
            its message.
        clock: Current POSIX time.
        batch_size: Receipts claimed per pass.
        lease: Seconds a claimed receipt is hidden from other appliers.
        interval: Seconds between passes when the last one was not full.
    """

    name = "receipt applier"

    def __init__(
        self,
        store: Store,
        fall_back: FallBack,
        settings: Settings,
        *,
        clock: Callable[[], float] = time.time,
        batch_size: int = 256,
        lease: float = 60.0,
        interval: float = 1.0,
    ) -> None:
        self._store = store
        self._fall_back = fall_back
        self._feedback = settings.braze_feedback
        self._retry_budget = settings.retry_budget
        # After this long no message can still be waiting for a receipt: it would have ended `unknown`.
        self._patience = max(settings.receipt_timeout, settings.email_receipt_timeout)
        self._clock = clock
        self._lease = lease
        self.batch_size = batch_size
        self.interval = interval

    async def run_once(self) -> int:
        """Claim one batch of due receipts, apply them and return how many there were."""
        claimed = await self._store.claim_receipts(now=self._clock(), limit=self.batch_size, lease=self._lease)
        if claimed:
            await self._apply(claimed)
        return len(claimed)

    async def _apply(self, claimed: list[StoredReceipt]) -> None:
        """Decide every receipt, make the batch's fallbacks, then settle and defer the batch in one go each."""
        records = await self._store.find_receipt_messages([stored.receipt for stored in claimed])
        now = self._clock()
        # Each message as the receipts decided so far leave it.
        latest: dict[str, StoredMessage] = {}
        plan: list[tuple[StoredReceipt, Settlement | _FallBack]] = []
        deferrals: list[tuple[int, float]] = []
        for stored, found in zip(claimed, records, strict=True):
            record = None if found is None else latest.get(found.id, found)
            if record is None or record.status not in _SETTLEABLE:
                if now - stored.received_at > self._patience:
                    _log.warning("receipt matched no message", extra={"vendor": stored.receipt.vendor})
                    plan.append((stored, Settlement(state="unmatched")))
                else:
                    deferrals.append((stored.id, now + min(_FIRST_DELAY * 2**stored.tries, _MAX_DELAY)))
                continue
            decision = self._decide(stored.receipt, record, now)
            plan.append((stored, decision))
            moved_to = Status.FALLBACK if isinstance(decision, _FallBack) else decision.status
            if moved_to is not None:
                latest[record.id] = msgspec.structs.replace(record, status=moved_to, updated_at=now)
        settlements = await self._fall_back_all(plan, deferrals)
        answers = await self._store.settle_receipts([(stored.id, s) for stored, s in settlements], now=now)
        for (stored, settlement), answer in zip(settlements, answers, strict=True):
            if answer is None:
                _settled(stored, settlement)
            elif isinstance(answer, StaleTransition):
                # The message moved meanwhile (a send was recorded, another receipt ended it): look again soon.
                deferrals.append((stored.id, now + _FIRST_DELAY))
            else:
                # The receipt stays pending and is claimed again when its lease runs out.
                _log.error("receipt not applied: %r", answer, extra={"vendor": stored.receipt.vendor})
        await self._store.defer_receipts(deferrals)

    def _decide(self, receipt: Receipt, record: StoredMessage, now: float) -> Settlement | _FallBack:
        """What ``receipt`` does to ``record``, a message that was sent and may have ended."""
        expect = frozenset({record.status})
        if record.status in FINAL_STATUSES:
            reason = f"receipt after the message ended {record.status}, not applied: {describe(receipt)}"
            return Settlement(state="late", message_id=record.id, expect=expect, reason=reason)
        if receipt.outcome == "progress":
            reason = f"in progress: {describe(receipt)}"
            return Settlement(state="progress", message_id=record.id, expect=RECEIVING, reason=reason)
        if receipt.outcome == "failed" and _falls_back(record, receipt):
            return _FallBack(record, f"not reachable by KakaoTalk: {describe(receipt)}", receipt.code)
        if receipt.outcome == "failed" and (resend_at := self._resend_at(record, receipt, now)) is not None:
            return Settlement(
                state="applied",
                message_id=record.id,
                status=Status.RETRYING,
                expect=RECEIVING,
                reason=f"not delivered for now ({describe(receipt)}); sending again",
                next_attempt_at=resend_at,
            )
        status = Status.DELIVERED if receipt.outcome == "delivered" else Status.FAILED
        return Settlement(
            state="applied",
            message_id=record.id,
            status=status,
            expect=RECEIVING,
            reason=f"{status}: {describe(receipt)}",
            report=Report(receipt.code) if self._feedback else None,
        )

    async def _fall_back_all(
        self, plan: list[tuple[StoredReceipt, Settlement | _FallBack]], deferrals: list[tuple[int, float]]
    ) -> list[tuple[StoredReceipt, Settlement]]:
        """Make the plan's fallbacks (together) and return the settlements, in arrival order.

        A fallback that was made settles its receipt ``applied``; a stale one defers it (to ``deferrals``); one
        that failed otherwise leaves it pending until its lease runs out.
        """
        fallbacks = [(stored, step) for stored, step in plan if isinstance(step, _FallBack)]
        outcomes = await asyncio.gather(
            *(self._fall_back(f.record, f.reason, code=f.code, expect=RECEIVING) for _, f in fallbacks),
            return_exceptions=True,
        )
        made: set[int] = set()
        for (stored, _), outcome in zip(fallbacks, outcomes, strict=True):
            if outcome is None:
                made.add(stored.id)
            elif isinstance(outcome, StaleTransition):
                deferrals.append((stored.id, self._clock() + _FIRST_DELAY))
            else:
                _log.error("fallback not made: %r", outcome, extra={"vendor": stored.receipt.vendor})
        settlements: list[tuple[StoredReceipt, Settlement]] = []
        for stored, step in plan:
            if isinstance(step, Settlement):
                settlements.append((stored, step))
            elif stored.id in made:
                settlements.append((stored, Settlement(state="applied", message_id=step.record.id)))
        return settlements

    def _resend_at(self, record: StoredMessage, receipt: Receipt, now: float) -> float | None:
        """When to send a message again after the vendor's own trouble, or ``None`` (not that, or out of budget).

        The same idempotency key is reused, so the new send waits until the vendor no longer refuses it as a repeat.
        """
        if registry.reason_of(receipt, record.channel) is not Reason.RETRY_LATER:
            return None
        wait = registry.vendor(receipt.vendor).capabilities.resend_after
        resend_at = max(now + rescheduled_delay(record.attempt_count, None), record.updated_at + wait)
        return None if record.past_budget(resend_at, self._retry_budget) else resend_at


class _FallBack(msgspec.Struct, frozen=True):
    """A receipt's decision to hand its kakao message to LMS (:meth:`Dispatcher.fall_back`)."""

    record: StoredMessage
    reason: str
    code: str | None


def _settled(stored: StoredReceipt, settlement: Settlement) -> None:
    """Log and count what a settled receipt did."""
    receipt = stored.receipt
    log_event(
        "receipt.settled",
        level=logging.WARNING if settlement.state == "unmatched" else logging.INFO,
        message_id=settlement.message_id,
        vendor=receipt.vendor,
        outcome=receipt.outcome,
        code=receipt.code,
        receipt_state=settlement.state,
    )
    if settlement.status is not None and settlement.message_id is not None:
        status_changed(settlement.message_id, settlement.status, code=receipt.code)


def describe(receipt: Receipt) -> str:
    """``vendor code detail`` of a receipt, for the timeline."""
    return " ".join(part for part in (receipt.vendor, receipt.code, receipt.detail) if part)


def _falls_back(record: StoredMessage, receipt: Receipt) -> bool:
    """A kakao message that asked for LMS, has not fallen back before, and KakaoTalk cannot reach its user."""
    return (
        record.channel == "kakao"
        and record.message.fallback == "lms"
        and record.child_id is None
        and registry.reason_of(receipt, "kakao") is Reason.UNREACHABLE
    )
