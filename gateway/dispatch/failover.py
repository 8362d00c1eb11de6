"""Vendor failover within a channel (issue 10): when a message may go through the channel's next vendor.

``GATEWAY_KAKAO_VENDOR=<first>,<second>`` (likewise LMS and email) orders a channel's vendors. A message goes on to the
next one only when its current vendor is paused (circuit breaker open) or answered an outage, and only if no
attempt at that vendor may have been accepted: sending through a second vendor after the first may have taken
the message would deliver it twice, and an idempotency key only stops a repeat at the vendor that holds it, so
such a message stays with its vendor (which honours its key on the next try, or is asked later) whatever the
vendor. A message whose body named its vendor (``"vendor"``) never moves.
"""

from __future__ import annotations

from collections.abc import Sequence

from gateway.models import Attempt

__all__ = ("NOTHING_SENT_ERRORS", "attempt_was_outage", "may_fail_over", "next_vendor")

#: Transport errors raised before any byte of the request reached the vendor (httpx's exception names, which
#: :func:`adapters.base.send` puts in the attempt's detail).
NOTHING_SENT_ERRORS = frozenset({"ConnectError", "ConnectTimeout", "PoolTimeout"})
#: Retryable answers that do not say the vendor is down: its rate limit (the next vendor is no faster for us)
#: and a 2xx nobody could read (the vendor may have accepted it).
_NOT_AN_OUTAGE = frozenset({"http-429", "malformed-response"})


def attempt_was_outage(attempt: Attempt) -> bool:
    """Whether ``attempt`` failed because its vendor was down, in a way that proves it did not take the message.

    That is: the connection failed before sending, the vendor answered a 5xx, or it answered one of its documented
    system-error codes (the adapter classified them retryable: NHN ``-9999``, Kakao ``9998``, ...). Not a read
    timeout or a dropped connection after the request went out, not an unreadable 2xx, not a 429, and never a
    per-recipient or validation failure (those are permanent).
    """
    if attempt.outcome != "retryable":
        return False
    if attempt.http_status is None:
        return attempt.vendor_code in ("transport", "timeout") and attempt.detail in NOTHING_SENT_ERRORS
    if attempt.http_status == 429 or attempt.vendor_code in _NOT_AN_OUTAGE:
        return False
    return attempt.http_status >= 500 or attempt.vendor_code is not None


def may_fail_over(attempts: Sequence[Attempt]) -> bool:
    """Whether a message whose attempts at its current vendor were ``attempts`` may go to another vendor."""
    return all(attempt_was_outage(attempt) for attempt in attempts)


def next_vendor(chain: Sequence[str], current: str, available: set[str]) -> str | None:
    """The first vendor after ``current`` in ``chain`` that is in ``available``, or ``None``."""
    if current not in chain:
        return None
    return next((vendor for vendor in chain[chain.index(current) + 1 :] if vendor in available), None)
