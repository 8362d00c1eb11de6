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


def test_receipt_settings_default_to_a_day_three_days_and_a_minute() -> None:
    settings = load_settings({})
    assert (settings.receipt_timeout, settings.email_receipt_timeout) == (86400, 259200)
    assert settings.nhn_email_poll_interval == 60
    assert settings.callback_max_body_bytes == 1024 * 1024
    assert settings.braze_feedback is False


def test_receipt_settings_from_env() -> None:
    settings = load_settings(
        {
            "GATEWAY_RECEIPT_TIMEOUT": "3600",
            "GATEWAY_EMAIL_RECEIPT_TIMEOUT": "7200",
            "GATEWAY_NHN_EMAIL_POLL_INTERVAL": "15",
            "GATEWAY_CALLBACK_MAX_BODY_BYTES": "2048",
            "GATEWAY_BRAZE_REST_URL": "https://rest.iad-01.braze.com",
            "GATEWAY_BRAZE_API_KEY": "braze-key",
        }
    )
    assert (settings.receipt_timeout, settings.email_receipt_timeout) == (3600, 7200)
    assert (settings.nhn_email_poll_interval, settings.callback_max_body_bytes) == (15, 2048)
    assert settings.braze_feedback is True


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"GATEWAY_BRAZE_REST_URL": "https://rest.iad-01.braze.com"}, "GATEWAY_BRAZE_API_KEY"),
        ({"GATEWAY_BRAZE_API_KEY": "braze-key"}, "GATEWAY_BRAZE_REST_URL"),
        ({"GATEWAY_RECEIPT_TIMEOUT": "0"}, "GATEWAY_RECEIPT_TIMEOUT"),
    ],
)
def test_half_configured_braze_or_a_bad_timeout_stops_with_the_variable_named(env: dict[str, str], name: str) -> None:
    with pytest.raises(ConfigError, match=name):
        load_settings(env)


def test_console_settings_default_to_thirty_days_a_random_session_key_and_plain_cookies() -> None:
    settings = load_settings({})
    assert (settings.retention_days, settings.session_secret, settings.cookie_secure) == (30, None, False)


def test_console_settings_from_env() -> None:
    settings = load_settings(
        {"GATEWAY_RETENTION_DAYS": "7", "GATEWAY_SESSION_SECRET": "ab" * 32, "GATEWAY_COOKIE_SECURE": "on"}
    )
    assert (settings.retention_days, settings.session_secret, settings.cookie_secure) == (7, b"\xab" * 32, True)


@pytest.mark.parametrize("secret", ["not-hex", "ab" * 8 + "a", "ab" * 20])
def test_a_session_secret_that_is_no_aes_key_is_refused_without_echoing_it(secret: str) -> None:
    with pytest.raises(ConfigError, match="GATEWAY_SESSION_SECRET must be 32, 48 or 64 hex digits") as info:
        load_settings({"GATEWAY_SESSION_SECRET": secret})
    assert secret not in str(info.value)
