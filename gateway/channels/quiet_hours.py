"""Advertising quiet hours in Korea: when a message may not be sent.

See docs/ARCHITECTURE.md, "Channels"; docs/vendors.md.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = ("KST", "quiet_until", "quiet_window")

KST = ZoneInfo("Asia/Seoul")
_REOPEN = time(8, 0)
# Kakao forbids brand messages from 20:50 (result code 3022); the law forbids advertising SMS/LMS from 21:00. Email
# is exempt from the night rule (시행령 제61조②, docs/vendors.md, "Email, any vendor"), so it is never quiet.
_KAKAO_START = time(20, 50)
_LMS_AD_START = time(21, 0)


def quiet_until(channel: str, ad: bool, now: float) -> float | None:
    """When the sending window reopens, if ``now`` is inside a quiet window.

    Args:
        channel: ``kakao`` (always advertising, quiet 20:50-08:00 KST), ``lms`` (quiet 21:00-08:00 KST when
            ``ad``) or ``email`` (never quiet).
        ad: Whether the message is advertising.
        now: The current POSIX time.

    Returns:
        The POSIX time of the next 08:00 KST, or ``None`` when the message may be sent now.
    """
    start = _KAKAO_START if channel == "kakao" else _LMS_AD_START if channel == "lms" and ad else None
    if start is None:
        return None
    local = datetime.fromtimestamp(now, KST)
    if _REOPEN <= local.time() < start:
        return None
    day = local.date() if local.time() < _REOPEN else local.date() + timedelta(days=1)
    return datetime.combine(day, _REOPEN, KST).timestamp()


def quiet_window(channel: str) -> str:
    """The quiet window of an advertising ``channel`` message, as people read it."""
    start = _KAKAO_START if channel == "kakao" else _LMS_AD_START
    return f"{start:%H:%M}–{_REOPEN:%H:%M} KST"
