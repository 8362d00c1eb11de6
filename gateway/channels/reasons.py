"""Why a message did not reach the user, in the few words a campaign report groups by (issue 12).

The vendor's own code stays beside the reason in the report; the reason is what a marketer reads first. It
follows from the final state, the last attempt's outcome and, for kakao, whether the code means "KakaoTalk cannot
reach this person" (:mod:`gateway.channels.undeliverable`).
"""

from __future__ import annotations

from gateway.channels.undeliverable import kakao_undeliverable

__all__ = ("failure_reason",)


def failure_reason(channel: str, vendor: str, status: str, outcome: str | None, code: str | None) -> str:
    """The normalised reason of a message that ended ``status`` (``failed``, ``dead``, ``fallback``, ``unknown``).

    Args:
        channel: The message's channel.
        vendor: Its vendor (codes mean different things per vendor).
        status: Its final state.
        outcome: Its last attempt's outcome (``accepted``, ``retryable``, ``permanent``; ``None``: never tried).
        code: The vendor's code: of the failed receipt, else of the last failed attempt.
    """
    unreachable = channel == "kakao" and kakao_undeliverable(vendor, code)
    if status == "unknown":
        return "no delivery receipt"
    if status == "fallback":
        return "not reachable by KakaoTalk: sent as LMS" if unreachable else "refused for KakaoTalk: sent as LMS"
    if status == "failed":
        return "not reachable by KakaoTalk" if unreachable else "undelivered (vendor receipt)"
    if outcome == "permanent":
        return "refused by the vendor"
    if outcome == "retryable":
        return "retries exhausted (vendor unavailable)"
    return "not sent"
