"""Settings from ``GATEWAY_*`` environment variables (SPEC §11).

:func:`load_settings` is the single place that reads the environment. A setting that cannot work raises
:class:`ConfigError` with one line that names the variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Literal, NamedTuple

import msgspec

from adapters.config import (
    NHN_EMAIL_URL,
    NHN_KAKAO_URL,
    NHN_SMS_URL,
    SENDGRID_URL,
    SOLAPI_URL,
    NhnEmailConfig,
    NhnKakaoConfig,
    NhnSmsConfig,
    SendGridConfig,
    SolapiConfig,
)
from gateway.store.urls import parse_database_url

__all__ = ("CHANNEL_VENDORS", "ConfigError", "Settings", "StaffToken", "VendorLimits", "load_settings")

#: Which vendors can serve each channel.
CHANNEL_VENDORS: dict[str, tuple[str, ...]] = {
    "kakao": ("nhn", "solapi"),
    "lms": ("nhn", "solapi"),
    "email": ("sendgrid", "nhn"),
}
_SANDBOX_SECRET = "sandbox"  # noqa: S105 - placeholder credential that only the emulators accept
_SANDBOX_PLACEHOLDERS = {"GATEWAY_SMS_SENDER_NO": "0212345678", "GATEWAY_EMAIL_FROM": "no-reply@sandbox.example"}


class ConfigError(Exception):
    """A setting that cannot work; the message is one line naming the variable."""


class StaffToken(msgspec.Struct, frozen=True):
    """One support staff credential from ``GATEWAY_STAFF_TOKENS``."""

    name: str
    role: Literal["viewer", "operator"]
    token: str


class VendorLimits(msgspec.Struct, frozen=True):
    """Sending limits of one vendor."""

    rate: float
    concurrency: int


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the gateway is configured with."""

    host: str = "127.0.0.1"
    port: int = 8000
    database_url: str = "sqlite:///./var/gateway.db"
    ingest_tokens: tuple[str, ...] = ()
    staff_tokens: tuple[StaffToken, ...] = ()
    kakao_vendor: str = "nhn"
    lms_vendor: str = "nhn"
    email_vendor: str = "sendgrid"
    sandbox: bool = True
    nhn_kakao: NhnKakaoConfig | None = None
    nhn_sms: NhnSmsConfig | None = None
    nhn_email: NhnEmailConfig | None = None
    solapi: SolapiConfig | None = None
    sendgrid: SendGridConfig | None = None
    nhn_webhook_signature: str | None = None
    solapi_callback_token: str | None = None
    sendgrid_webhook_public_key: str | None = None
    sender_name: str | None = None
    opt_out_080: str | None = None
    braze_rest_url: str | None = None
    braze_api_key: str | None = None
    max_body_bytes: int = 256 * 1024
    idempotency_window: float = 24 * 3600
    default_fallback: Literal["lms", "none"] = "lms"
    default_button_name: str = "자세히 보기"
    utm_source: str | None = None
    link_hosts: frozenset[str] | None = None
    quiet_hours: Literal["hold", "suppress"] = "hold"
    retry_budget: float = 24 * 3600
    queue_high_water: int = 2_000_000
    dispatch_batch: int = 256
    vendor_limits: dict[str, VendorLimits] = msgspec.field(default_factory=dict)
    dispatcher: bool = True
    metrics_public: bool = True
    log_level: str = "INFO"
    #: Support console (issue 5): days a message is kept before ``gateway purge`` and the daily job delete it.
    retention_days: int = 30
    #: Key of the console's encrypted session cookie (16, 24 or 32 bytes); ``None``: a random key per start.
    session_secret: bytes | None = None
    #: Mark the console's cookies ``Secure`` (on behind HTTPS).
    cookie_secure: bool = False
    #: Delivery receipts (issue 4): seconds an accepted kakao or LMS message waits for its receipt before it
    #: ends ``unknown``; email waits longer because SendGrid keeps retrying deferred mail for up to 72 hours.
    receipt_timeout: float = 24 * 3600
    email_receipt_timeout: float = 72 * 3600
    nhn_email_poll_interval: float = 60.0
    #: Vendors batch callbacks (SendGrid posts up to several hundred KB at once), so they get their own limit.
    callback_max_body_bytes: int = 1024 * 1024

    @property
    def braze_feedback(self) -> bool:
        """Whether final states are reported to Braze (both the REST URL and the API key are set)."""
        return bool(self.braze_rest_url and self.braze_api_key)

    def vendor_for(self, channel: str) -> str:
        """The configured vendor of ``channel``."""
        return {"kakao": self.kakao_vendor, "lms": self.lms_vendor, "email": self.email_vendor}[channel]


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build :class:`Settings` from ``env`` (default ``os.environ``)."""
    reader = _Env(os.environ if env is None else env)
    vendors = {
        ch: reader.choice(f"GATEWAY_{ch.upper()}_VENDOR", names[0], names) for ch, names in CHANNEL_VENDORS.items()
    }
    forced = reader.flag("GATEWAY_SANDBOX")
    sandbox = _resolve_sandbox(reader, vendors, forced)
    vendor_configs = _vendor_configs(reader, sandbox)
    _check_vendor_configs(vendors, vendor_configs)
    settings = Settings(
        host=reader.get("GATEWAY_HOST") or "127.0.0.1",
        port=reader.integer("GATEWAY_PORT", 8000),
        database_url=reader.get("GATEWAY_DATABASE_URL") or "sqlite:///./var/gateway.db",
        ingest_tokens=tuple(reader.csv("GATEWAY_INGEST_TOKENS")),
        staff_tokens=_staff_tokens(reader.csv("GATEWAY_STAFF_TOKENS")),
        kakao_vendor=vendors["kakao"],
        lms_vendor=vendors["lms"],
        email_vendor=vendors["email"],
        sandbox=sandbox,
        nhn_webhook_signature=reader.get("GATEWAY_NHN_WEBHOOK_SIGNATURE"),
        solapi_callback_token=reader.get("GATEWAY_SOLAPI_CALLBACK_TOKEN"),
        sendgrid_webhook_public_key=reader.get("GATEWAY_SENDGRID_WEBHOOK_PUBLIC_KEY"),
        # In sandbox mode advertising LMS still gets a realistic prefix and opt-out line.
        sender_name=reader.get("GATEWAY_SENDER_NAME") or ("샌드박스" if sandbox else None),
        opt_out_080=reader.get("GATEWAY_OPT_OUT_080") or ("080-000-0000" if sandbox else None),
        braze_rest_url=reader.get("GATEWAY_BRAZE_REST_URL"),
        braze_api_key=reader.get("GATEWAY_BRAZE_API_KEY"),
        max_body_bytes=reader.integer("GATEWAY_MAX_BODY_BYTES", 256 * 1024),
        idempotency_window=reader.number("GATEWAY_IDEMPOTENCY_WINDOW", 24 * 3600),
        default_fallback=reader.choice("GATEWAY_DEFAULT_FALLBACK", "lms", ("lms", "none")),  # type: ignore[arg-type]
        default_button_name=reader.get("GATEWAY_DEFAULT_BUTTON_NAME") or "자세히 보기",
        utm_source=reader.get("GATEWAY_UTM_SOURCE"),
        link_hosts=frozenset(h.lower() for h in reader.csv("GATEWAY_LINK_HOSTS")) or None,
        quiet_hours=reader.choice("GATEWAY_QUIET_HOURS", "hold", ("hold", "suppress")),  # type: ignore[arg-type]
        retry_budget=reader.number("GATEWAY_RETRY_BUDGET", 24 * 3600),
        queue_high_water=reader.integer("GATEWAY_QUEUE_HIGH_WATER", 2_000_000),
        dispatch_batch=reader.integer("GATEWAY_DISPATCH_BATCH", 256),
        vendor_limits={v: _limits(reader, v) for v in ("nhn", "solapi", "sendgrid")},
        dispatcher=reader.flag("GATEWAY_DISPATCHER") is not False,
        metrics_public=reader.flag("GATEWAY_METRICS_PUBLIC") is not False,
        log_level=(reader.get("GATEWAY_LOG_LEVEL") or "INFO").upper(),
        retention_days=reader.integer("GATEWAY_RETENTION_DAYS", 30),
        session_secret=_session_secret(reader.get("GATEWAY_SESSION_SECRET")),
        cookie_secure=reader.flag("GATEWAY_COOKIE_SECURE") is True,
        receipt_timeout=reader.number("GATEWAY_RECEIPT_TIMEOUT", 24 * 3600),
        email_receipt_timeout=reader.number("GATEWAY_EMAIL_RECEIPT_TIMEOUT", 72 * 3600),
        nhn_email_poll_interval=reader.number("GATEWAY_NHN_EMAIL_POLL_INTERVAL", 60.0),
        callback_max_body_bytes=reader.integer("GATEWAY_CALLBACK_MAX_BODY_BYTES", 1024 * 1024),
        **vendor_configs._asdict(),
    )
    _check_advertising(settings)
    _check_braze(settings)
    try:
        parse_database_url(settings.database_url)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    return settings


class _Env:
    """Typed reads of environment variables; a bad value is a :class:`ConfigError`."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def get(self, name: str) -> str | None:
        value = self._env.get(name, "").strip()
        return value or None

    def csv(self, name: str) -> list[str]:
        return [part.strip() for part in (self.get(name) or "").split(",") if part.strip()]

    def flag(self, name: str) -> bool | None:
        value = self.get(name)
        if value is None:
            return None
        if value.lower() in {"1", "true", "yes", "on"}:
            return True
        if value.lower() in {"0", "false", "no", "off"}:
            return False
        raise ConfigError(f"{name}={value!r} is not a switch: use on or off")

    def integer(self, name: str, default: int) -> int:
        value = self.get(name)
        if value is None:
            return default
        if not value.isdigit() or int(value) <= 0:
            raise ConfigError(f"{name}={value!r} is not a positive whole number")
        return int(value)

    def number(self, name: str, default: float) -> float:
        value = self.get(name)
        if value is None:
            return default
        try:
            number = float(value)
        except ValueError:
            number = -1.0
        if number <= 0:
            raise ConfigError(f"{name}={value!r} is not a positive number")
        return number

    def choice(self, name: str, default: str, allowed: tuple[str, ...]) -> str:
        value = (self.get(name) or default).lower()
        if value not in allowed:
            raise ConfigError(f"{name}={value!r} is not one of {', '.join(allowed)}")
        return value


def _resolve_sandbox(reader: _Env, vendors: dict[str, str], forced: bool | None) -> bool:
    """Sandbox is on unless forced off, or unless every chosen vendor has credentials."""
    if forced is not None:
        return forced
    return not all(_has_credentials(reader, vendor, channel) for channel, vendor in vendors.items())


_CREDENTIALS: dict[tuple[str, str], tuple[str, ...]] = {
    ("nhn", "kakao"): ("GATEWAY_NHN_KAKAO_APPKEY", "GATEWAY_NHN_KAKAO_SECRET", "GATEWAY_NHN_SENDER_KEY"),
    ("nhn", "lms"): ("GATEWAY_NHN_SMS_APPKEY", "GATEWAY_NHN_SMS_SECRET", "GATEWAY_SMS_SENDER_NO"),
    ("nhn", "email"): ("GATEWAY_NHN_EMAIL_APPKEY", "GATEWAY_NHN_EMAIL_SECRET", "GATEWAY_EMAIL_FROM"),
    ("solapi", "kakao"): (
        "GATEWAY_SOLAPI_API_KEY",
        "GATEWAY_SOLAPI_API_SECRET",
        "GATEWAY_SOLAPI_PF_ID",
        "GATEWAY_SMS_SENDER_NO",
    ),
    ("solapi", "lms"): ("GATEWAY_SOLAPI_API_KEY", "GATEWAY_SOLAPI_API_SECRET", "GATEWAY_SMS_SENDER_NO"),
    ("sendgrid", "email"): ("GATEWAY_SENDGRID_API_KEY", "GATEWAY_EMAIL_FROM"),
}


def _has_credentials(reader: _Env, vendor: str, channel: str) -> bool:
    return all(reader.get(name) for name in _CREDENTIALS[(vendor, channel)])


class _VendorConfigs(NamedTuple):
    nhn_kakao: NhnKakaoConfig | None
    nhn_sms: NhnSmsConfig | None
    nhn_email: NhnEmailConfig | None
    solapi: SolapiConfig | None
    sendgrid: SendGridConfig | None


def _vendor_configs(reader: _Env, sandbox: bool) -> _VendorConfigs:
    """Build each vendor's config from its variables; in sandbox, missing values get placeholders."""

    def values(*names: str) -> list[str] | None:
        """The variables' values (sandbox placeholders for missing ones), or None when one is missing."""
        found = [
            reader.get(name) or (_SANDBOX_PLACEHOLDERS.get(name, _SANDBOX_SECRET) if sandbox else "") for name in names
        ]
        return found if all(found) else None

    def url(name: str, default: str) -> str:
        return (reader.get(name) or default).rstrip("/")

    sender_name = reader.get("GATEWAY_SENDER_NAME")
    kakao = values("GATEWAY_NHN_KAKAO_APPKEY", "GATEWAY_NHN_KAKAO_SECRET", "GATEWAY_NHN_SENDER_KEY")
    sms = values("GATEWAY_NHN_SMS_APPKEY", "GATEWAY_NHN_SMS_SECRET", "GATEWAY_SMS_SENDER_NO")
    mail = values("GATEWAY_NHN_EMAIL_APPKEY", "GATEWAY_NHN_EMAIL_SECRET", "GATEWAY_EMAIL_FROM")
    solapi = values("GATEWAY_SOLAPI_API_KEY", "GATEWAY_SOLAPI_API_SECRET", "GATEWAY_SMS_SENDER_NO")
    sendgrid = values("GATEWAY_SENDGRID_API_KEY", "GATEWAY_EMAIL_FROM")
    return _VendorConfigs(
        nhn_kakao=None
        if kakao is None
        else NhnKakaoConfig(
            url=url("GATEWAY_NHN_KAKAO_URL", NHN_KAKAO_URL), appkey=kakao[0], secret=kakao[1], sender_key=kakao[2]
        ),
        nhn_sms=None
        if sms is None
        else NhnSmsConfig(url=url("GATEWAY_NHN_SMS_URL", NHN_SMS_URL), appkey=sms[0], secret=sms[1], send_no=sms[2]),
        nhn_email=None
        if mail is None
        else NhnEmailConfig(
            url=url("GATEWAY_NHN_EMAIL_URL", NHN_EMAIL_URL),
            appkey=mail[0],
            secret=mail[1],
            sender_address=mail[2],
            sender_name=sender_name,
        ),
        solapi=None
        if solapi is None
        else SolapiConfig(
            url=url("GATEWAY_SOLAPI_URL", SOLAPI_URL),
            api_key=solapi[0],
            api_secret=solapi[1],
            pf_id=(values("GATEWAY_SOLAPI_PF_ID") or [""])[0],
            send_no=solapi[2],
        ),
        sendgrid=None
        if sendgrid is None
        else SendGridConfig(
            url=url("GATEWAY_SENDGRID_URL", SENDGRID_URL),
            api_key=sendgrid[0],
            from_email=sendgrid[1],
            from_name=sender_name,
        ),
    )


_CONFIG_KEY = {
    ("nhn", "kakao"): "nhn_kakao",
    ("nhn", "lms"): "nhn_sms",
    ("nhn", "email"): "nhn_email",
    ("solapi", "kakao"): "solapi",
    ("solapi", "lms"): "solapi",
    ("sendgrid", "email"): "sendgrid",
}


def _check_vendor_configs(vendors: dict[str, str], configs: _VendorConfigs) -> None:
    for channel, vendor in vendors.items():
        config = getattr(configs, _CONFIG_KEY[(vendor, channel)])
        if config is None or (isinstance(config, SolapiConfig) and channel == "kakao" and not config.pf_id):
            missing = ", ".join(_CREDENTIALS[(vendor, channel)])
            raise ConfigError(f"GATEWAY_{channel.upper()}_VENDOR={vendor} needs {missing} (or GATEWAY_SANDBOX=on)")


def _check_advertising(settings: Settings) -> None:
    """Advertising LMS (and kakao's LMS fallback) must carry the sender name and the 080 opt-out number."""
    if settings.sandbox:
        return
    for name, value in (
        ("GATEWAY_SENDER_NAME", settings.sender_name),
        ("GATEWAY_OPT_OUT_080", settings.opt_out_080),
    ):
        if not value:
            raise ConfigError(f"{name} is required: advertising LMS must carry it by law")


def _check_braze(settings: Settings) -> None:
    """Braze feedback needs both the REST endpoint and the API key; one without the other is a mistake."""
    if bool(settings.braze_rest_url) != bool(settings.braze_api_key):
        missing = "GATEWAY_BRAZE_API_KEY" if settings.braze_rest_url else "GATEWAY_BRAZE_REST_URL"
        raise ConfigError(f"{missing} is required when the other GATEWAY_BRAZE_* variable is set")


def _session_secret(value: str | None) -> bytes | None:
    """``GATEWAY_SESSION_SECRET``: 32, 48 or 64 hex digits (an AES-128/192/256 key)."""
    if value is None:
        return None
    try:
        secret = bytes.fromhex(value)
    except ValueError:
        secret = b""
    if len(secret) not in (16, 24, 32):
        raise ConfigError("GATEWAY_SESSION_SECRET must be 32, 48 or 64 hex digits (e.g. from: openssl rand -hex 32)")
    return secret


def _staff_tokens(entries: list[str]) -> tuple[StaffToken, ...]:
    tokens = []
    for entry in entries:
        parts = entry.split(":", 2)
        if len(parts) != 3 or parts[1] not in ("viewer", "operator") or not parts[0] or len(parts[2]) < 8:
            shown = parts[0] if parts and parts[0] else "?"
            raise ConfigError(
                f"GATEWAY_STAFF_TOKENS entry for {shown!r} must be name:viewer|operator:token (token ≥ 8 characters)"
            )
        tokens.append(StaffToken(parts[0], parts[1], parts[2]))  # type: ignore[arg-type]
    return tuple(tokens)


def _limits(reader: _Env, vendor: str) -> VendorLimits:
    prefix = f"GATEWAY_{vendor.upper()}"
    return VendorLimits(
        rate=reader.number(f"{prefix}_RATE", 1000.0), concurrency=reader.integer(f"{prefix}_CONCURRENCY", 64)
    )
