from __future__ import annotations

import pytest

from gateway.settings import PRODUCTS, ConfigError, load_settings
from tests.conftest import NHN_KAKAO_AND_SMS, REAL_NHN


def test_defaults_are_sandboxed_sqlite_on_loopback() -> None:
    settings = load_settings({})
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    assert settings.database_url == "sqlite:///./var/gateway.db"
    assert settings.sandbox is True
    assert settings.emulated == set(PRODUCTS)
    assert (settings.kakao_vendor, settings.lms_vendor, settings.email_vendor) == ("nhn", "nhn", "sendgrid")
    assert settings.products.get("nhn_kakao") is not None
    assert settings.products.get("sendgrid") is not None
    assert settings.products.get("solapi") is not None
    assert settings.max_body_bytes == 256 * 1024


def test_each_product_with_credentials_is_real_and_each_without_is_emulated() -> None:
    settings = load_settings(REAL_NHN)
    assert settings.emulated == set(PRODUCTS) - {"nhn_kakao", "nhn_sms", "sendgrid"}
    assert settings.sandbox is True  # at least one product is emulated
    assert settings.products.get("nhn_kakao") is not None
    assert settings.products["nhn_kakao"].appkey == "kakao-app"
    assert settings.products.get("nhn_sms") is not None
    assert settings.products["nhn_sms"].send_no == "0212345678"
    assert settings.products.get("solapi") is not None
    assert settings.products["solapi"].api_key == "sandbox"


def test_vendor_url_override_is_used_without_trailing_slash() -> None:
    settings = load_settings({**REAL_NHN, "GATEWAY_NHN_KAKAO_URL": "http://127.0.0.1:9000/"})
    assert settings.products.get("nhn_kakao") is not None
    assert settings.products["nhn_kakao"].url == "http://127.0.0.1:9000"


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"GATEWAY_KAKAO_VENDOR": "kakaoi"}, "GATEWAY_KAKAO_VENDOR"),
        ({"GATEWAY_EMAIL_VENDOR": "solapi"}, "GATEWAY_EMAIL_VENDOR"),
        ({"GATEWAY_SANDBOX": "off"}, "GATEWAY_KAKAO_VENDOR=nhn needs"),
        ({"GATEWAY_SANDBOX": "maybe"}, "GATEWAY_SANDBOX"),
        ({"GATEWAY_PORT": "eighty"}, "GATEWAY_PORT"),
        ({"GATEWAY_PORT": "99999"}, "GATEWAY_PORT=99999 is not a TCP port"),
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
    assert settings.poll_intervals["nhn_email"] == 60
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
    assert (settings.poll_intervals["nhn_email"], settings.callback_max_body_bytes) == (15, 2048)
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


#: Real NHN kakao and SMS keys at staging hosts, no email keys at all.


def test_real_kakao_and_sms_keys_stay_real_when_email_has_none() -> None:
    settings = load_settings(NHN_KAKAO_AND_SMS)

    assert settings.emulated == set(PRODUCTS) - {"nhn_kakao", "nhn_sms"}
    assert settings.products.get("nhn_kakao") is not None
    assert (settings.products["nhn_kakao"].url, settings.products["nhn_kakao"].secret) == (
        "https://kakao.staging.test",
        "kakao-secret",
    )
    assert settings.products.get("nhn_sms") is not None
    assert (settings.products["nhn_sms"].url, settings.products["nhn_sms"].secret) == (
        "https://sms.staging.test",
        "sms-secret",
    )
    assert settings.products.get("sendgrid") is not None
    assert (
        settings.products["sendgrid"].from_email == "no-reply@sandbox.example"
    )  # an emulated product gets placeholders
    assert (settings.sender_name, settings.opt_out_080) == ("와디즈", "080-123-4567")


@pytest.mark.parametrize(
    ("env", "missing"),
    [
        ({"GATEWAY_NHN_SMS_APPKEY": "secret-1"}, "GATEWAY_NHN_SMS_SECRET"),
        ({"GATEWAY_NHN_KAKAO_APPKEY": "secret-1", "GATEWAY_NHN_KAKAO_SECRET": "secret-2"}, "GATEWAY_NHN_SENDER_KEY"),
        ({"GATEWAY_NHN_EMAIL_SECRET": "secret-1"}, "GATEWAY_NHN_EMAIL_APPKEY"),
        ({"GATEWAY_SOLAPI_API_KEY": "secret-1", "GATEWAY_SANDBOX": "off"}, "GATEWAY_SOLAPI_API_SECRET"),
    ],
)
def test_some_but_not_all_of_a_products_credentials_stop_the_start(env: dict[str, str], missing: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(env)

    message = str(info.value)
    assert message.startswith(f"{missing} not set")
    assert "\n" not in message
    assert "secret-" not in message


def test_a_forced_sandbox_ignores_half_given_credentials() -> None:
    settings = load_settings({"GATEWAY_NHN_SMS_APPKEY": "sms-app", "GATEWAY_SANDBOX": "on"})
    assert settings.emulated == set(PRODUCTS)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"GATEWAY_SMS_SENDER_NO": ""}, "GATEWAY_LMS_VENDOR=nhn needs GATEWAY_SMS_SENDER_NO"),
        ({"GATEWAY_EMAIL_FROM": ""}, "GATEWAY_EMAIL_VENDOR=sendgrid needs GATEWAY_EMAIL_FROM"),
        (
            {"GATEWAY_KAKAO_VENDOR": "solapi", "GATEWAY_SOLAPI_API_KEY": "k", "GATEWAY_SOLAPI_API_SECRET": "s"},
            "GATEWAY_KAKAO_VENDOR=solapi needs GATEWAY_SOLAPI_PF_ID",
        ),
    ],
)
def test_a_real_chosen_vendor_without_its_sender_value_stops_the_start(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({**REAL_NHN, **env})
    assert str(info.value) == message  # no sandbox hint: the keys are real, only the sender value is missing


def test_a_real_product_no_channel_uses_may_lack_the_sender_value() -> None:
    env = {**REAL_NHN, "GATEWAY_SOLAPI_API_KEY": "k", "GATEWAY_SOLAPI_API_SECRET": "s", "GATEWAY_SMS_SENDER_NO": ""}
    with pytest.raises(ConfigError, match="GATEWAY_LMS_VENDOR=nhn needs GATEWAY_SMS_SENDER_NO"):
        load_settings(env)  # NHN SMS is chosen and needs it ...
    settings = load_settings({**env, "GATEWAY_LMS_VENDOR": "nhn", "GATEWAY_SMS_SENDER_NO": "0212345678"})
    assert settings.products.get("solapi") is not None  # ... and real Solapi, chosen nowhere, has it too

    unused = load_settings({**REAL_NHN, "GATEWAY_SOLAPI_API_KEY": "k", "GATEWAY_SOLAPI_API_SECRET": "s"})
    assert unused.products.get("solapi") is not None
    assert unused.products["solapi"].pf_id == ""  # real, not chosen for kakao: no Solapi kakao adapter, no error


def test_sandbox_on_emulates_every_product_even_with_credentials() -> None:
    settings = load_settings({**REAL_NHN, "GATEWAY_SANDBOX": "on"})
    assert settings.emulated == set(PRODUCTS)
    assert settings.products.get("nhn_kakao") is not None
    assert settings.products["nhn_kakao"].appkey == "kakao-app"  # the emulator checks the configured keys


def test_sandbox_on_keeps_credentials_given_with_a_url_real() -> None:
    settings = load_settings({**REAL_NHN, "GATEWAY_SANDBOX": "on", "GATEWAY_NHN_SMS_URL": "https://sms.staging.test"})
    assert settings.emulated == set(PRODUCTS) - {"nhn_sms"}


def test_sandbox_off_emulates_nothing_and_leaves_products_without_credentials_out() -> None:
    settings = load_settings({**REAL_NHN, "GATEWAY_SANDBOX": "off"})
    assert (settings.emulated, settings.sandbox) == (frozenset(), False)
    assert (settings.products.get("nhn_email"), settings.products.get("solapi")) == (None, None)
    with pytest.raises(ConfigError, match=r"GATEWAY_EMAIL_VENDOR=nhn needs .* \(or GATEWAY_SANDBOX=on\)$"):
        load_settings({**REAL_NHN, "GATEWAY_SANDBOX": "off", "GATEWAY_EMAIL_VENDOR": "nhn"})


def test_advertising_text_placeholders_only_where_lms_is_emulated() -> None:
    kakao_only = {k: v for k, v in NHN_KAKAO_AND_SMS.items() if "SMS" not in k and "SENDER_NAME" not in k}
    settings = load_settings({k: v for k, v in kakao_only.items() if k != "GATEWAY_OPT_OUT_080"})
    assert settings.emulated == set(PRODUCTS) - {"nhn_kakao"}
    assert (settings.sender_name, settings.opt_out_080) == ("샌드박스", "080-000-0000")
    with pytest.raises(ConfigError, match="GATEWAY_SENDER_NAME is required"):
        load_settings({k: v for k, v in NHN_KAKAO_AND_SMS.items() if k != "GATEWAY_SENDER_NAME"})


def test_a_real_lms_vendor_a_body_may_name_needs_real_advertising_text() -> None:
    solapi_only = {
        "GATEWAY_SOLAPI_API_KEY": "key",
        "GATEWAY_SOLAPI_API_SECRET": "secret",
        "GATEWAY_SMS_SENDER_NO": "0212345678",
    }
    with pytest.raises(ConfigError, match="GATEWAY_SENDER_NAME is required"):
        load_settings(solapi_only)


def test_a_real_product_cannot_share_its_host_with_an_emulated_one() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({**NHN_KAKAO_AND_SMS, "GATEWAY_NHN_EMAIL_URL": "https://sms.staging.test/email"})
    assert str(info.value).startswith("GATEWAY_NHN_SMS_URL and GATEWAY_NHN_EMAIL_URL name the same host")


_TOKENS = {"GATEWAY_INGEST_TOKENS": "t" * 16, "GATEWAY_STAFF_TOKENS": "ann:viewer:" + "s" * 16}


def test_a_sandbox_with_ingest_and_staff_tokens_has_nothing_to_warn_about() -> None:
    assert load_settings(_TOKENS).warnings() == []


def test_missing_staff_tokens_are_warned_about_but_not_to_a_dispatcher_alone() -> None:
    settings = load_settings({"GATEWAY_INGEST_TOKENS": "t" * 16})
    assert settings.warnings() == [
        "GATEWAY_STAFF_TOKENS is not set: the support API and console at /admin refuse everyone"
    ]
    assert load_settings({}).warnings(http=False) == []


def test_an_unknown_log_level_is_one_configuration_error() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({"GATEWAY_LOG_LEVEL": "verbose"})
    assert str(info.value) == "GATEWAY_LOG_LEVEL='verbose' is not one of debug, info, warning, error, critical"
    assert load_settings({"GATEWAY_LOG_LEVEL": "warning"}).log_level == "WARNING"


def test_vendors_that_are_not_configured_are_not_warned_about() -> None:
    settings = load_settings(REAL_NHN | {"GATEWAY_SANDBOX": "off", "GATEWAY_INGEST_TOKENS": "t" * 16})
    assert not any("SOLAPI" in warning for warning in settings.warnings())


def test_missing_ingest_tokens_and_receipt_secrets_of_real_vendors_are_warned_about() -> None:
    warnings = load_settings(REAL_NHN).warnings()

    assert warnings == [
        "GATEWAY_INGEST_TOKENS is not set: every POST /v1/braze/messages is refused with 401",
        "GATEWAY_STAFF_TOKENS is not set: the support API and console at /admin refuse everyone",
        "GATEWAY_NHN_WEBHOOK_SIGNATURE is not set: nhn's delivery receipts are refused, so its messages end unknown",
        "GATEWAY_SENDGRID_WEBHOOK_PUBLIC_KEY is not set: sendgrid's delivery receipts are refused, "
        "so its messages end unknown",
    ]
    configured = load_settings(
        REAL_NHN
        | _TOKENS
        | {
            "GATEWAY_NHN_WEBHOOK_SIGNATURE": "signature",
            "GATEWAY_SENDGRID_WEBHOOK_PUBLIC_KEY": "key",
        }
    )
    assert configured.warnings() == []


def test_sandbox_outcomes_are_read_by_product_and_recipient() -> None:
    settings = load_settings(
        {"GATEWAY_SANDBOX_OUTCOMES": "nhn_kakao:010-1234-5678=3018, sendgrid:Jane@Example.com=bounce"}
    )
    assert settings.sandbox_outcomes == {
        "nhn_kakao": {"01012345678": "3018"},
        "sendgrid": {"Jane@example.com": "bounce"},
    }


@pytest.mark.parametrize("entry", ["kakao:01012345678=3018", "nhn_kakao:01012345678", "nhn_kakao:=3018"])
def test_a_sandbox_outcome_that_cannot_be_read_stops_the_start(entry: str) -> None:
    with pytest.raises(ConfigError, match="GATEWAY_SANDBOX_OUTCOMES"):
        load_settings({"GATEWAY_SANDBOX_OUTCOMES": entry})


@pytest.mark.parametrize(
    ("env", "secure"),
    [
        ({}, False),  # make run: http://127.0.0.1
        ({"GATEWAY_HOST": "localhost"}, False),
        ({"GATEWAY_HOST": "::1"}, False),
        ({"GATEWAY_HOST": "0.0.0.0"}, True),  # noqa: S104 - a listen address, not a bind here
        ({"GATEWAY_HOST": "10.0.0.5"}, True),
        ({"GATEWAY_HOST": "gateway.internal"}, True),
        ({"GATEWAY_HOST": "0.0.0.0", "GATEWAY_COOKIE_SECURE": "off"}, False),  # noqa: S104
        ({"GATEWAY_COOKIE_SECURE": "on"}, True),  # loopback behind a TLS proxy on the same machine
    ],
)
def test_console_cookies_are_secure_unless_the_gateway_listens_on_loopback(env: dict[str, str], secure: bool) -> None:
    assert load_settings(env).cookie_secure is secure


def test_content_settings_default_to_an_hour_1_5_s_and_1_mb_with_no_source() -> None:
    settings = load_settings({})
    assert settings.content_sources == {}
    assert (settings.content_ttl, settings.content_timeout, settings.content_max_bytes) == (3600, 1.5, 1_000_000)
    assert settings.content_list_path is None
    assert settings.content_cache_bytes == 64 * 1024 * 1024


def test_content_settings_from_env() -> None:
    settings = load_settings(
        {
            "GATEWAY_CONTENT_SOURCES": "best=https://api.example.com/realtime-best?key=k, new-arrivals=http://10.0.0.5/new",
            "GATEWAY_CONTENT_TTL": "600",
            "GATEWAY_CONTENT_TIMEOUT": "0.8",
            "GATEWAY_CONTENT_MAX_BYTES": "500000",
            "GATEWAY_CONTENT_LIST_PATH": "data.list",
            "GATEWAY_CONTENT_CACHE_BYTES": "1000000",
        }
    )
    assert settings.content_sources == {
        "best": "https://api.example.com/realtime-best?key=k",
        "new-arrivals": "http://10.0.0.5/new",
    }
    assert (settings.content_ttl, settings.content_timeout, settings.content_max_bytes) == (600, 0.8, 500_000)
    assert settings.content_list_path == ("data", "list")
    assert settings.content_cache_bytes == 1_000_000


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"GATEWAY_CONTENT_SOURCES": "best"}, "GATEWAY_CONTENT_SOURCES entry 'best' must be name=http(s)://"),
        ({"GATEWAY_CONTENT_SOURCES": "best=ftp://api.example.com/x"}, "GATEWAY_CONTENT_SOURCES entry 'best'"),
        ({"GATEWAY_CONTENT_SOURCES": "b/est=https://api.example.com/x"}, "GATEWAY_CONTENT_SOURCES entry 'b/est'"),
        ({"GATEWAY_CONTENT_SOURCES": "=https://api.example.com/x"}, "GATEWAY_CONTENT_SOURCES entry '?'"),
        ({"GATEWAY_CONTENT_SOURCES": "a=http://x.test,a=http://y.test"}, "GATEWAY_CONTENT_SOURCES names 'a' twice"),
        ({"GATEWAY_CONTENT_TTL": "0"}, "GATEWAY_CONTENT_TTL"),
        ({"GATEWAY_CONTENT_TIMEOUT": "2"}, "GATEWAY_CONTENT_TIMEOUT=2 must be under 2 seconds"),
        ({"GATEWAY_CONTENT_TIMEOUT": "fast"}, "GATEWAY_CONTENT_TIMEOUT"),
        ({"GATEWAY_CONTENT_MAX_BYTES": "1MB"}, "GATEWAY_CONTENT_MAX_BYTES"),
        ({"GATEWAY_CONTENT_CACHE_BYTES": "1000"}, "GATEWAY_CONTENT_CACHE_BYTES=1000 is smaller than"),
        ({"GATEWAY_CONTENT_LIST_PATH": "data..list"}, "GATEWAY_CONTENT_LIST_PATH"),
    ],
)
def test_content_settings_that_cannot_work_stop_with_one_line(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(env)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_a_bad_content_source_is_refused_without_echoing_its_url() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({"GATEWAY_CONTENT_SOURCES": "best=api.example.com/x?key=secret-key"})
    assert "secret-key" not in str(info.value)


def test_prices_are_krw_per_message_by_channel() -> None:
    assert load_settings({}).prices == {}
    assert load_settings({"GATEWAY_PRICES": "kakao=15, lms=30,email=0.5"}).prices == {
        "kakao": 15.0,
        "lms": 30.0,
        "email": 0.5,
    }


@pytest.mark.parametrize("value", ["kakao=abc", "sms=30", "kakao=15,kakao=16", "kakao=-1", "kakao=inf", "kakao"])
def test_a_price_that_cannot_be_one_stops_the_start(value: str) -> None:
    with pytest.raises(ConfigError, match="GATEWAY_PRICES entry"):
        load_settings({"GATEWAY_PRICES": value})
