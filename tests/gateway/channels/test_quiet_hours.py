from __future__ import annotations

from datetime import datetime

import pytest

from gateway.channels.quiet_hours import KST, quiet_until


def _kst(day: int, hour: int, minute: int = 0, second: int = 0) -> float:
    return datetime(2025, 6, day, hour, minute, second, tzinfo=KST).timestamp()


def test_kakao_window_opens_at_eight() -> None:
    assert quiet_until("kakao", True, _kst(10, 7, 59, 59)) == _kst(10, 8)
    assert quiet_until("kakao", True, _kst(10, 8)) is None


def test_kakao_window_closes_at_twenty_fifty() -> None:
    assert quiet_until("kakao", True, _kst(10, 20, 49, 59)) is None
    assert quiet_until("kakao", True, _kst(10, 20, 50)) == _kst(11, 8)


def test_kakao_is_quiet_whatever_the_ad_flag() -> None:
    assert quiet_until("kakao", False, _kst(10, 23)) == _kst(11, 8)


@pytest.mark.parametrize(("hour", "minute"), [(0, 0), (3, 30), (23, 59)])
def test_kakao_night(hour: int, minute: int) -> None:
    expected = _kst(11, 8) if hour >= 20 else _kst(10, 8)
    assert quiet_until("kakao", True, _kst(10, hour, minute)) == expected


def test_advertising_lms_window() -> None:
    assert quiet_until("lms", True, _kst(10, 20, 50)) is None
    assert quiet_until("lms", True, _kst(10, 20, 59, 59)) is None
    assert quiet_until("lms", True, _kst(10, 21)) == _kst(11, 8)
    assert quiet_until("lms", True, _kst(11, 7, 59, 59)) == _kst(11, 8)
    assert quiet_until("lms", True, _kst(11, 8)) is None


def test_non_advertising_lms_and_email_are_never_quiet() -> None:
    assert quiet_until("lms", False, _kst(10, 23)) is None
    assert quiet_until("email", True, _kst(10, 23)) is None
    assert quiet_until("email", False, _kst(10, 3)) is None


def test_window_end_crosses_a_month() -> None:
    assert quiet_until("kakao", True, datetime(2025, 6, 30, 22, tzinfo=KST).timestamp()) == (
        datetime(2025, 7, 1, 8, tzinfo=KST).timestamp()
    )


def test_time_zone_is_seoul_not_utc() -> None:
    # 12:00 UTC is 21:00 in Seoul.
    noon_utc = datetime.fromisoformat("2025-06-10T12:00:00+00:00").timestamp()
    assert quiet_until("lms", True, noon_utc) == _kst(11, 8)
