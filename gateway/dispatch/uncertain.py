"""Uncertain sends: a message the vendor may have taken without the gateway knowing is looked up, never simply
sent again (docs/ARCHITECTURE.md, "Uncertain sends" and "Batches").
"""

from __future__ import annotations

import time

from adapters.contract import Found, NotFound
from adapters.registry import product_of
from adapters.spec import Lookup, LookupTarget
from gateway.dispatch.attempts import SENDING, Ended, utc
from gateway.dispatch.endings import Endings
from gateway.dispatch.wiring import Wiring
from gateway.events import status_changed
from gateway.models import Attempt, Status, StoredMessage

__all__ = ("UncertainSends", "owes_lookup", "pending_uncertain")


class UncertainSends:
    """Settles the sends whose outcome the gateway does not know.

    Args:
        wiring: The store, adapters, lookups, settings and clock.
        endings: Where a lookup that ends the claim writes it.
    """

    def __init__(self, wiring: Wiring, endings: Endings) -> None:
        self._wiring = wiring
        self._endings = endings
        self._store = wiring.store
        self._settings = wiring.settings
        self._clock = wiring.clock

    async def ended_uncertain(self, record: StoredMessage) -> bool:
        """Settle a message whose previous claim died during a call to its vendor; whether it was such a one.

        The vendor may have it: sending again could deliver it twice. Where the product has a lookup, the cut-off
        call is recorded as an uncertain attempt and looked up like any other (docs/ARCHITECTURE.md, "Uncertain
        sends"). Otherwise, at a vendor without idempotency keys, it ends ``unknown`` and keeps its
        ``send_started_at`` mark; nothing is reported to Braze. Where the vendor honours its idempotency key, it is
        simply sent again, except at a batch vendor, whose key covered a request rather than this message
        (docs/ARCHITECTURE.md, "Batches").
        """
        route = (record.vendor, record.channel)
        adapter = self._wiring.adapters.get(route)
        if not record.uncertain or adapter is None:
            return False
        started = record.send_started_at or 0.0
        product = product_of(*route)
        if route in self._wiring.lookups:
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
                f"attempt {cut_off.number}: a call to {product} began at {utc(started)} and its process stopped "
                f"before the answer was recorded; asking {record.vendor} whether it has the message"
            )
            await self._store.transition(
                record.id,
                Status.RETRYING,
                reason,
                now=now,
                expect=SENDING,
                attempt=cut_off,
                next_attempt_at=now + self._settings.lookup_delay,
            )
            status_changed(record.id, Status.RETRYING, uncertain_send=True)
            return True
        # A batch adapter's mark may come from a batch request, whose key covered that request, not this message.
        if adapter.idempotent and route not in self._wiring.batch_adapters:
            return False
        reason = (
            f"uncertain send: a call to {product} began at {utc(started)} and its process stopped before the "
            f"answer was recorded; not sent again, as {product} honours no idempotency key "
            "(the vendor's lookup can tell whether it arrived)"
        )
        await self._store.transition(record.id, Status.UNKNOWN, reason, now=self._clock(), expect=SENDING)
        status_changed(record.id, Status.UNKNOWN, uncertain_send=True)
        return True

    async def settle_by_lookup(self, record: StoredMessage, lookup: Lookup) -> int | None:
        """Ask the vendor about a message whose last send is uncertain.

        Found: accepted, never sent again. Not found: the lookup is recorded and the caller sends it again (once
        per uncertain send). Cannot tell: asked again after a doubling wait, ``unknown`` after
        ``lookup_attempts`` lookups rather than risk sending twice. Each lookup is an attempt on the timeline.

        Returns:
            The attempts recorded so far when the caller is to send, ``None`` when the lookup ended the claim.
        """
        detail = await self._store.get(record.id)
        pending = pending_uncertain(detail.attempts) if detail is not None else None
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
        result = await lookup(self._wiring.client, target)
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
        ended = Ended(record.id, logged, None, self._clock())
        which = f"lookup {asked + 1} of attempt {uncertain.number}"
        if isinstance(result, Found):
            reason = f"{which}: {record.vendor} has the message ({result.detail}); not sent again"
            await self._endings.end(ended, Status.ACCEPTED, reason, vendor_message_id=result.vendor_message_id)
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
            await self._endings.end(ended, Status.UNKNOWN, reason, report=self._wiring.report("uncertain"))
            return None
        next_at = ended.now + self._settings.lookup_delay * 2 ** (asked + 1)
        reason = f"{which}: {result.detail}; asking again in {next_at - ended.now:g} s"
        await self._endings.end(ended, Status.RETRYING, reason, next_attempt_at=next_at)
        return None


def pending_uncertain(attempts: tuple[Attempt, ...]) -> tuple[Attempt, int] | None:
    """The last attempt, if uncertain and not yet settled, with how many lookups could not tell since."""
    for asked, attempt in enumerate(reversed(attempts)):
        if attempt.outcome == "uncertain":
            return attempt, asked
        if attempt.outcome != "lookup" or attempt.vendor_code != "cannot_tell":
            return None
    return None


def owes_lookup(last: Attempt) -> bool:
    """Whether a message whose last attempt is ``last`` has an uncertain send to settle (as :func:`pending_uncertain`
    finds it: the uncertain attempt itself, or a lookup since that could not tell)."""
    return last.outcome == "uncertain" or (last.outcome == "lookup" and last.vendor_code == "cannot_tell")
