from __future__ import annotations

from gateway.normalise.policy import Policy, policy_from_settings
from gateway.settings import CHANNEL_VENDORS, Settings


def test_defaults() -> None:
    policy = Policy()
    assert policy.default_button_name == "자세히 보기"
    assert policy.default_fallback == "lms"
    assert policy.channel_vendors == CHANNEL_VENDORS
    assert policy.channel_vendors is not CHANNEL_VENDORS


def test_policy_from_settings() -> None:
    settings = Settings(
        default_button_name="보러 가기",
        default_fallback="none",
        utm_source="braze",
        link_hosts=frozenset({"wadiz.kr"}),
        sender_name="와디즈",
        opt_out_080="080-123-4567",
    )
    assert policy_from_settings(settings) == Policy(
        default_button_name="보러 가기",
        default_fallback="none",
        utm_source="braze",
        link_hosts=frozenset({"wadiz.kr"}),
        sender_name="와디즈",
        opt_out_080="080-123-4567",
    )
