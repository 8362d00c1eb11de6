"""Normalised failure reasons of the campaign report."""

from __future__ import annotations

import pytest

from gateway.channels.reasons import failure_reason


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (("kakao", "nhn", "unknown", "accepted", None), "no delivery receipt"),
        (("kakao", "nhn", "fallback", "accepted", "3019"), "not reachable by KakaoTalk: sent as LMS"),
        (("kakao", "nhn", "fallback", "permanent", "-1001"), "refused for KakaoTalk: sent as LMS"),
        (("kakao", "nhn", "failed", "accepted", "3018"), "not reachable on this channel"),
        (("kakao", "solapi", "failed", "accepted", "3104"), "not reachable on this channel"),
        (("kakao", "nhn", "failed", "accepted", "1021"), "blocked (sender or recipient)"),
        (("lms", "nhn", "failed", "accepted", "3015"), "undelivered (vendor receipt)"),
        (("email", "sendgrid", "failed", "accepted", "bounce"), "bounced by the mail server"),
        (("kakao", "gone", "failed", "accepted", "3018"), "undelivered (vendor receipt)"),
        (("lms", "solapi", "dead", "permanent", "1062"), "refused by the vendor"),
        (("lms", "nhn", "dead", "retryable", "503"), "retries exhausted (vendor unavailable)"),
        (("lms", "nhn", "dead", None, None), "not sent"),
    ],
)
def test_failure_reason(args: tuple[str, str, str, str | None, str | None], reason: str) -> None:
    assert failure_reason(*args) == reason
