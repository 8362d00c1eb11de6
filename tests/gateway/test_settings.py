from __future__ import annotations

import pytest

from gateway.settings import ConfigError, load_settings

REAL_NHN = {
    "GATEWAY_NHN_KAKAO_APPKEY": "kakao-app",
    "GATEWAY_NHN_KAKAO_SECRET": "kakao-secret",
    "GATEWAY_NHN_SENDER_KEY": "s" * 40,
    "GATEWAY_NHN_SMS_APPKEY": "sms-app",
    "GATEWAY_NHN_SMS_SECRET": "sms-secret",
    "GATEWAY_SMS_SENDER_NO": "0212345678",
    "GATEWAY_SENDGRID_API_KEY": "SG.key",
    "GATEWAY_EMAIL_FROM": "news@example.com",
    "GATEWAY_SENDER_NAME": "와디즈",
    "GATEWAY_OPT_OUT_080": "080-123-4567",
}


def test_defaults_are_sandboxed_sqlite_on_loopback() -> None:
    settings = load_settings({})
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    assert settings.database_url == "sqlite:///./var/gateway.db"
    assert settings.sandbox is True
    assert (settings.kakao_vendor, settings.lms_vendor, settings.email_vendor) == ("nhn", "nhn", "sendgrid")
    assert settings.nhn_kakao is not None
    assert settings.sendgrid is not None
    assert settings.solapi is not None
    assert settings.max_body_bytes == 256 * 1024


def test_credentials_for_every_chosen_vendor_turn_sandbox_off() -> None:
    settings = load_settings(REAL_NHN)
    assert settings.sandbox is False
    assert settings.nhn_kakao is not None
    assert settings.nhn_kakao.appkey == "kakao-app"
    assert settings.nhn_sms is not None
    assert settings.nhn_sms.send_no == "0212345678"
    assert settings.solapi is None


def test_vendor_url_override_is_used_without_trailing_slash() -> None:
    settings = load_settings({**REAL_NHN, "GATEWAY_NHN_KAKAO_URL": "http://127.0.0.1:9000/"})
    assert settings.nhn_kakao is not None
    assert settings.nhn_kakao.url == "http://127.0.0.1:9000"


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"GATEWAY_KAKAO_VENDOR": "kakaoi"}, "GATEWAY_KAKAO_VENDOR"),
        ({"GATEWAY_EMAIL_VENDOR": "solapi"}, "GATEWAY_EMAIL_VENDOR"),
        ({"GATEWAY_SANDBOX": "off"}, "GATEWAY_KAKAO_VENDOR=nhn needs"),
        ({"GATEWAY_SANDBOX": "maybe"}, "GATEWAY_SANDBOX"),
        ({"GATEWAY_PORT": "eighty"}, "GATEWAY_PORT"),
        ({"GATEWAY_STAFF_TOKENS": "ann:admin:abcdefgh"}, "GATEWAY_STAFF_TOKENS"),
        ({**REAL_NHN, "GATEWAY_OPT_OUT_080": ""}, "GATEWAY_OPT_OUT_080"),
    ],
)
def test_impossible_settings_stop_with_one_line_naming_the_variable(env: dict[str, str], names: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(env)
    assert names in str(info.value)
    assert "\n" not in str(info.value)


def test_error_never_echoes_a_staff_token() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({"GATEWAY_STAFF_TOKENS": "ann:admin:very-secret-token"})
    assert "very-secret-token" not in str(info.value)


def test_tokens_are_comma_separated_for_rotation() -> None:
    settings = load_settings(
        {
            "GATEWAY_INGEST_TOKENS": "old-token, new-token",
            "GATEWAY_STAFF_TOKENS": "ann:viewer:tok-ann-1,bo:operator:tok-bo-12",
        }
    )
    assert settings.ingest_tokens == ("old-token", "new-token")
    assert [(s.name, s.role) for s in settings.staff_tokens] == [("ann", "viewer"), ("bo", "operator")]


def test_vendor_limits_from_env() -> None:
    settings = load_settings({"GATEWAY_NHN_RATE": "50", "GATEWAY_NHN_CONCURRENCY": "4"})
    assert settings.vendor_limits["nhn"].rate == 50.0
    assert settings.vendor_limits["nhn"].concurrency == 4
