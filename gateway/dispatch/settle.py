"""What a vendor's answer to one message makes of it: the same for a message sent alone and one sent in a batch.

:func:`verdict` decides; the dispatcher writes it, one message at a time (``Store.transition``,
``Dispatcher.fall_back``) or a batch's at once (``Store.transition_many``, docs/ARCHITECTURE.md, "Batches").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from adapters.contract import Accepted, Outcome, Permanent, Uncertain
from gateway.dispatch.retry import rescheduled_delay
from gateway.models import Attempt, Status, StoredMessage
from gateway.settings import Settings

__all__ = ("Verdict", "describe", "verdict")


class Verdict(NamedTuple):
    """Where an answer takes a message.

    Attributes:
        reported: Whether Braze is told (a final state), with ``code``.
        fall_back: A kakao message replaced by an LMS (``status`` is then ``fallback``; ``reason`` says why, before
            the LMS's id is added to it).
    """

    status: Status
    reason: str
    next_attempt_at: float | None = None
    vendor_message_id: str | None = None
    reported: bool = False
    code: str | None = None
    fall_back: bool = False


def verdict(
    record: StoredMessage,
    outcome: Outcome,
    attempt: Attempt,
    *,
    now: float,
    settings: Settings,
    paused_until: Callable[[], float],
) -> Verdict:
    """The message's next state after ``attempt`` (whose outcome is ``outcome``) ended its claim.

    Accepted: ``accepted`` with the vendor's id. Permanent: ``dead``, or a kakao message that asked for it falls
    back to LMS (never twice). Uncertain (only where the product has a lookup): ``retrying`` after
    ``lookup_delay``, to be looked up before anything is sent again. Retryable: rescheduled in the store (not
    before the breaker's pause ends), or ``dead`` past the retry budget.

    Args:
        paused_until: When the product's circuit breaker admits calls again (asked only for a retryable outcome).
    """
    vendor = record.vendor
    if isinstance(outcome, Accepted):
        reason = f"accepted by {vendor}" + (f" as {outcome.vendor_message_id}" if outcome.vendor_message_id else "")
        return Verdict(Status.ACCEPTED, reason, vendor_message_id=outcome.vendor_message_id)
    if isinstance(outcome, Permanent):
        reason = f"rejected by {vendor}: {describe(outcome.code, outcome.detail)}"
        # Never twice: a replayed message that already fell back ends dead.
        if record.channel == "kakao" and record.message.fallback == "lms" and record.child_id is None:
            return Verdict(Status.FALLBACK, reason, reported=True, code=attempt.vendor_code, fall_back=True)
        return Verdict(Status.DEAD, reason, reported=True, code=outcome.code)
    if isinstance(outcome, Uncertain):
        reason = (
            f"attempt {attempt.number}: outcome uncertain ({describe(outcome.code, outcome.detail)}); "
            f"asking {vendor} whether it has the message before sending again"
        )
        return Verdict(Status.RETRYING, reason, next_attempt_at=now + settings.lookup_delay)
    delay = rescheduled_delay(attempt.number, outcome.retry_after)
    next_at = max(now + delay, paused_until())
    problem = describe(outcome.code, outcome.detail)
    if record.past_budget(next_at, settings.retry_budget):
        return Verdict(
            Status.DEAD,
            f"retries exhausted after {attempt.number} attempts: {problem}",
            reported=True,
            code=outcome.code,
        )
    return Verdict(
        Status.RETRYING, f"attempt {attempt.number} failed ({problem}); next attempt scheduled", next_attempt_at=next_at
    )


def describe(code: str | None, detail: str) -> str:
    """A vendor's code and detail as a timeline reason says them."""
    return f"{code} {detail}".strip() if code else detail
