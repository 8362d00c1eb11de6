"""The receipt applier: stored vendor receipts become message states (docs/ARCHITECTURE.md, "Receipts").

Callbacks and polls only store receipts; this duty of the dispatcher applies them. Each pass claims a bounded
batch of pending receipts and matches each to its message (our correlation id, else the vendor's message id):

- a message that is unknown, or whose send is not recorded yet, leaves the receipt pending: it is tried again
  with a growing delay, and kept as ``unmatched`` once no message could still be waiting for it;
- ``progress`` is noted on the timeline; ``delivered`` and ``failed`` end an ``accepted`` (or ``retrying``)
  message with the vendor's code and text, and a kakao receipt whose reason is ``unreachable`` (not reachable by
  KakaoTalk) hands the message to LMS through :meth:`Dispatcher.fall_back` when the message asked for it;
- a receipt whose reason is ``retry_later`` (the vendor's own trouble, e.g. Kakao's) sends the message again
  later, within its retry budget, no sooner than the vendor forgets the first send's idempotency key;
- a receipt for a message that already ended is noted on its timeline (``late``) and changes nothing.

Receipts about one message are applied one after another in arrival order; different messages in parallel.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Protocol

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
        await asyncio.gather(*(self._apply_in_order(group) for group in _by_message(claimed)))
        return len(claimed)

    async def _apply_in_order(self, receipts: list[StoredReceipt]) -> None:
        for stored in receipts:
            try:
                await self._apply(stored)
            except StaleTransition:
                # The message moved meanwhile (a send was recorded, another receipt ended it): look again soon.
                await self._store.defer_receipt(stored.id, next_try_at=self._clock() + _FIRST_DELAY)
            except Exception:
                # The receipt stays pending and is claimed again when its lease runs out.
                _log.exception("receipt not applied", extra={"vendor": stored.receipt.vendor})

    async def _apply(self, stored: StoredReceipt) -> None:
        receipt = stored.receipt
        record = await self._store.find_receipt_message(receipt)
        if record is None or record.status not in _SETTLEABLE:
            await self._wait(stored)
            return
        if record.status in FINAL_STATUSES:
            reason = f"receipt after the message ended {record.status}, not applied: {describe(receipt)}"
            await self._settle(stored, Settlement(state="late", message_id=record.id, reason=reason))
        elif receipt.outcome == "progress":
            reason = f"in progress: {describe(receipt)}"
            await self._settle(stored, Settlement(state="progress", message_id=record.id, reason=reason))
        elif receipt.outcome == "failed" and _falls_back(record, receipt):
            reason = f"not reachable by KakaoTalk: {describe(receipt)}"
            await self._fall_back(record, reason, code=receipt.code, expect=RECEIVING)
            await self._settle(stored, Settlement(state="applied", message_id=record.id))
        elif receipt.outcome == "failed" and (resend_at := self._resend_at(record, receipt)) is not None:
            reason = f"not delivered for now ({describe(receipt)}); sending again"
            settlement = Settlement(
                state="applied",
                message_id=record.id,
                status=Status.RETRYING,
                expect=RECEIVING,
                reason=reason,
                next_attempt_at=resend_at,
            )
            await self._settle(stored, settlement)
        else:
            status = Status.DELIVERED if receipt.outcome == "delivered" else Status.FAILED
            settlement = Settlement(
                state="applied",
                message_id=record.id,
                status=status,
                expect=RECEIVING,
                reason=f"{status}: {describe(receipt)}",
                report=Report(receipt.code) if self._feedback else None,
            )
            await self._settle(stored, settlement)

    def _resend_at(self, record: StoredMessage, receipt: Receipt) -> float | None:
        """When to send a message again after the vendor's own trouble, or ``None`` (not that, or out of budget).

        The same idempotency key is reused, so the new send waits until the vendor no longer refuses it as a repeat.
        """
        if registry.reason_of(receipt, record.channel) is not Reason.RETRY_LATER:
            return None
        now = self._clock()
        wait = registry.vendor(receipt.vendor).capabilities.resend_after
        resend_at = max(now + rescheduled_delay(record.attempt_count, None), record.updated_at + wait)
        return None if record.past_budget(resend_at, self._retry_budget) else resend_at

    async def _settle(self, stored: StoredReceipt, settlement: Settlement) -> None:
        await self._store.settle_receipt(stored.id, settlement, now=self._clock())
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

    async def _wait(self, stored: StoredReceipt) -> None:
        """Keep a receipt whose message is unknown or not sent yet, trying again later, until it cannot match."""
        now = self._clock()
        if now - stored.received_at > self._patience:
            _log.warning("receipt matched no message", extra={"vendor": stored.receipt.vendor})
            await self._settle(stored, Settlement(state="unmatched"))
            return
        delay = min(_FIRST_DELAY * 2**stored.tries, _MAX_DELAY)
        await self._store.defer_receipt(stored.id, next_try_at=now + delay)


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


def _by_message(claimed: Iterable[StoredReceipt]) -> list[list[StoredReceipt]]:
    """Group receipts that name the same message (by either id), keeping arrival order within a group."""
    groups: dict[tuple[str, str | None], list[StoredReceipt]] = {}
    for stored in claimed:
        receipt = stored.receipt
        key = (receipt.vendor, receipt.correlation_id or receipt.vendor_message_id)
        groups.setdefault(key, []).append(stored)
    return list(groups.values())
