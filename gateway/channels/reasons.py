"""Why a message did not reach the user, in the few words a campaign report groups by (issue 12).

The vendor's own code stays beside the reason in the report; the reason is what a marketer reads first. It
follows from the final state, the last attempt's outcome and what the vendor's code means (the vendor package's
``reason`` mapping, docs/ARCHITECTURE.md "Receipts").
"""

from __future__ import annotations

from typing import cast

from adapters import registry
from adapters.contract import Channel, Reason

__all__ = ("failure_reason",)

#: A failed receipt's reason in the report's words.
_FAILED = {
    Reason.UNREACHABLE: "not reachable on this channel",
    Reason.BLOCKED: "blocked (sender or recipient)",
    Reason.INVALID: "refused as invalid (number, length, sending hours)",
    Reason.BOUNCED: "bounced by the mail server",
    Reason.RETRY_LATER: "vendor trouble",
}


def failure_reason(channel: str, vendor: str, status: str, outcome: str | None, code: str | None) -> str:
    """The normalised reason of a message that ended ``status`` (``failed``, ``dead``, ``fallback``, ``unknown``).

    Args:
        channel: The message's channel.
        vendor: Its vendor (codes mean different things per vendor).
        status: Its final state.
        outcome: Its last attempt's outcome (``accepted``, ``retryable``, ``permanent``; ``None``: never tried).
        code: The vendor's code: of the failed receipt, else of the last failed attempt.
    """
    if status == "unknown":
        return "no delivery receipt"
    if status == "fallback":
        unreachable = outcome == "accepted" and _reason(channel, vendor, code) is Reason.UNREACHABLE
        return "not reachable by KakaoTalk: sent as LMS" if unreachable else "refused for KakaoTalk: sent as LMS"
    if status == "failed":
        return _FAILED.get(_reason(channel, vendor, code), "undelivered (vendor receipt)")
    if outcome == "permanent":
        return "refused by the vendor"
    if outcome == "retryable":
        return "retries exhausted (vendor unavailable)"
    return "not sent"


def _reason(channel: str, vendor: str, code: str | None) -> Reason:
    """What ``vendor`` says a failed receipt with ``code`` means (``other`` for a vendor no longer registered)."""
    try:
        spec = registry.vendor(vendor)
    except KeyError:
        return Reason.OTHER
    return spec.reason(cast(Channel, channel), "failed", code)
