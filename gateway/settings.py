"""Settings from ``GATEWAY_*`` environment variables (docs/ARCHITECTURE.md, "Configuration").

:func:`load_settings` is the single place that reads the environment. A setting that cannot work raises
:class:`ConfigError` with one line that names the variable.
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
from collections.abc import Mapping
from typing import Any, Literal, NamedTuple
from urllib.parse import urlsplit

import msgspec

from adapters import registry
from adapters.spec import Product
from adapters.transport import TransportKind
from gateway.store.urls import parse_database_url

__all__ = (
    "CHANNEL_VENDORS",
    "DEFAULT_VENDORS",
    "PRODUCTS",
    "ConfigError",
    "Settings",
    "StaffToken",
    "VendorLimits",
    "load_settings",
)

#: The vendor of each channel when ``GATEWAY_<CHANNEL>_VENDOR`` is not set (the README's table).
DEFAULT_VENDORS: dict[str, str] = {"kakao": "nhn", "lms": "nhn", "email": "sendgrid"}
#: Which vendors can serve each channel (from the vendor registry), the default first.
CHANNEL_VENDORS: dict[str, tuple[str, ...]] = registry.channel_vendors(DEFAULT_VENDORS)
#: Each vendor product and the credentials that make it real: all of them set means real HTTP, none set means
#: its emulator answers (docs/ARCHITECTURE.md, "Sandbox mode").
PRODUCTS: dict[str, tuple[str, ...]] = {name: product.credentials for name, product in registry.products().items()}


_LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


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


_MAX_PORT = 65535


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the gateway is configured with."""

    host: str = "127.0.0.1"
    port: int = 8000
    database_url: str = "sqlite:///./var/gateway.db"
    ingest_tokens: tuple[str, ...] = ()
    staff_tokens: tuple[StaffToken, ...] = ()
    kakao_vendor: str = DEFAULT_VENDORS["kakao"]
    lms_vendor: str = DEFAULT_VENDORS["lms"]
    email_vendor: str = DEFAULT_VENDORS["email"]
    #: Each channel's vendors in failover order (``GATEWAY_KAKAO_VENDOR=nhn,solapi``); the first is the vendor above.
    vendor_chains: dict[str, tuple[str, ...]] = msgspec.field(default_factory=dict)
    #: At least one product is emulated (see ``emulated``).
    sandbox: bool = True
    #: Per emulated product, the result its emulator reports for a recipient instead of "delivered"
    #: (``GATEWAY_SANDBOX_OUTCOMES``), so a sandbox can show failures and fallbacks.
    sandbox_outcomes: dict[str, dict[str, str]] = msgspec.field(default_factory=dict)
    #: The products (names of :data:`PRODUCTS`) answered by in-process emulators; the others use real HTTP.
    emulated: frozenset[str] = frozenset(PRODUCTS)
    #: The config of each product that can send (a product of :data:`PRODUCTS` is missing when it lacks a value).
    products: dict[str, Any] = msgspec.field(default_factory=dict)
    #: Per vendor that calls back, the secret that authenticates its callbacks (its spec names the variable).
    callback_secrets: dict[str, str | None] = msgspec.field(default_factory=dict)
    #: Per product whose vendor lets it sign with its own secret, that secret when set (else the vendor's).
    callback_product_secrets: dict[str, str] = msgspec.field(default_factory=dict)
    #: Per vendor signing a timestamp, how far (seconds) it may be from now (its spec names the variable).
    callback_tolerances: dict[str, float] = msgspec.field(default_factory=dict)
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
    #: Uncertain sends (issue 9, docs/ARCHITECTURE.md "Uncertain sends"): seconds before the first lookup (the
    #: vendor's list may lag), doubling for each lookup that cannot tell, and how many lookups before ``unknown``.
    lookup_delay: float = 120.0
    lookup_attempts: int = 6
    #: Internal errors (processing a message raised) after which a message is ``dead``: a dead-letter rule.
    max_internal_errors: int = 5
    queue_high_water: int = 2_000_000
    dispatch_batch: int = 256
    vendor_limits: dict[str, VendorLimits] = msgspec.field(default_factory=dict)
    dispatcher: bool = True
    #: What moves the vendor calls' bytes under httpx (``adapters.transport``): aiohttp's pool, or httpcore's.
    http_transport: TransportKind = "aiohttp"
    metrics_public: bool = True
    log_level: str = "INFO"
    #: Support console (issue 5): days a message is kept before ``gateway purge`` and the daily job delete it.
    retention_days: int = 30
    #: Key of the console's encrypted session cookie (16, 24 or 32 bytes); ``None``: a random key per start.
    session_secret: bytes | None = None
    #: Mark the console's cookies ``Secure``: on unless the gateway listens on a loopback address only.
    cookie_secure: bool = True
    #: Delivery receipts (issue 4): seconds an accepted kakao or LMS message waits for its receipt before it
    #: ends ``unknown``; email waits longer because email vendors retry deferred mail for up to 72 hours.
    receipt_timeout: float = 24 * 3600
    email_receipt_timeout: float = 72 * 3600
    #: Per product whose results are polled, seconds between two polls of one message.
    poll_intervals: dict[str, float] = msgspec.field(default_factory=dict)
    #: Vendors batch callbacks (several hundred KB in one post), so they get their own limit.
    callback_max_body_bytes: int = 1024 * 1024
    #: Connected Content cache (issue 13, docs/content.md): the upstream URL of each source name.
    content_sources: dict[str, str] = msgspec.field(default_factory=dict)
    content_ttl: float = 3600.0
    #: Upstream budget, under the 2 s Braze waits for a Connected Content answer.
    content_timeout: float = 1.5
    #: Braze refuses Connected Content answers over 1 MB.
    content_max_bytes: int = 1_000_000
    #: Keys of the JSON list an upstream answer must hold (``data.list`` → ``("data", "list")``), if any.
    content_list_path: tuple[str, ...] | None = None
    content_cache_bytes: int = 64 * 1024 * 1024
    #: Campaign report (issue 12): unit price per message in KRW by channel (``GATEWAY_PRICES``); a channel
    #: without a price has no cost estimate.
    prices: dict[str, float] = msgspec.field(default_factory=dict)

    @property
    def braze_feedback(self) -> bool:
        """Whether final states are reported to Braze (both the REST URL and the API key are set)."""
        return bool(self.braze_rest_url and self.braze_api_key)

    def vendor_for(self, channel: str) -> str:
        """The configured vendor of ``channel``."""
        return {"kakao": self.kakao_vendor, "lms": self.lms_vendor, "email": self.email_vendor}[channel]

    def vendor_chain(self, channel: str) -> tuple[str, ...]:
        """``channel``'s vendors in failover order (just its vendor when no failover is configured)."""
        return self.vendor_chains.get(channel) or (self.vendor_for(channel),)

    def warnings(self, *, http: bool = True) -> list[str]:
        """What works but probably not as meant: said once at start, without any secret.

        Args:
            http: The process serves HTTP (``gateway serve``); a dispatcher alone takes no tokens.
        """
        found = []
        if http and not self.ingest_tokens:
            found.append("GATEWAY_INGEST_TOKENS is not set: every POST /v1/braze/messages is refused with 401")
        if http and not self.staff_tokens:
            found.append("GATEWAY_STAFF_TOKENS is not set: the support API and console at /admin refuse everyone")
        for vendor, callback in registry.callbacks().items():
            real = [product for product in callback.products - self.emulated if product in self.products]
            vendor_secret = self.callback_secrets.get(vendor)
            if any(not (self.callback_product_secrets.get(product) or vendor_secret) for product in real):
                found.append(
                    f"{callback.auth_variable} is not set: {vendor}'s delivery receipts are refused, "
                    "so its messages end unknown"
                )
        return found


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build :class:`Settings` from ``env`` (default ``os.environ``)."""
    reader = _Env(os.environ if env is None else env)
    chains = {
        ch: reader.choices(f"GATEWAY_{ch.upper()}_VENDOR", names[0], names) for ch, names in CHANNEL_VENDORS.items()
    }
    vendors = {ch: chain[0] for ch, chain in chains.items()}
    emulated = _emulated_products(reader, reader.flag("GATEWAY_SANDBOX"))
    configs = _product_configs(reader, emulated)
    _check_vendor_configs(reader, chains, configs)
    _check_hosts(configs, emulated)
    # Placeholder ad text only where advertising LMS reaches an emulator, never people's phones.
    fake_ad_text = _lms_emulated(emulated)
    settings = Settings(
        host=reader.get("GATEWAY_HOST") or "127.0.0.1",
        port=reader.port("GATEWAY_PORT", 8000),
        database_url=reader.get("GATEWAY_DATABASE_URL") or "sqlite:///./var/gateway.db",
        ingest_tokens=tuple(reader.csv("GATEWAY_INGEST_TOKENS")),
        staff_tokens=_staff_tokens(reader.csv("GATEWAY_STAFF_TOKENS")),
        kakao_vendor=vendors["kakao"],
        lms_vendor=vendors["lms"],
        email_vendor=vendors["email"],
        vendor_chains=chains,
        sandbox=bool(emulated),
        emulated=emulated,
        sandbox_outcomes=_sandbox_outcomes(reader.csv("GATEWAY_SANDBOX_OUTCOMES")),
        products=configs,
        callback_secrets={vendor: reader.get(cb.auth_variable) for vendor, cb in registry.callbacks().items()},
        callback_tolerances={
            vendor: reader.number(*cb.tolerance) for vendor, cb in registry.callbacks().items() if cb.tolerance
        },
        callback_product_secrets={
            product: secret
            for cb in registry.callbacks().values()
            for product, variable in cb.product_variables.items()
            if (secret := reader.get(variable))
        },
        # Emulated advertising LMS still gets a realistic prefix and opt-out line.
        sender_name=reader.get("GATEWAY_SENDER_NAME") or ("샌드박스" if fake_ad_text else None),
        opt_out_080=reader.get("GATEWAY_OPT_OUT_080") or ("080-000-0000" if fake_ad_text else None),
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
        lookup_delay=reader.number("GATEWAY_LOOKUP_DELAY", 120.0),
        lookup_attempts=reader.integer("GATEWAY_LOOKUP_ATTEMPTS", 6),
        max_internal_errors=reader.integer("GATEWAY_MAX_INTERNAL_ERRORS", 5),
        queue_high_water=reader.integer("GATEWAY_QUEUE_HIGH_WATER", 2_000_000),
        dispatch_batch=reader.integer("GATEWAY_DISPATCH_BATCH", 256),
        vendor_limits={spec.name: _limits(reader, spec.name) for spec in registry.VENDORS},
        dispatcher=reader.flag("GATEWAY_DISPATCHER") is not False,
        http_transport=reader.choice("GATEWAY_HTTP_TRANSPORT", "aiohttp", ("aiohttp", "httpx")),  # type: ignore[arg-type]
        metrics_public=reader.flag("GATEWAY_METRICS_PUBLIC") is not False,
        log_level=reader.choice("GATEWAY_LOG_LEVEL", "info", _LOG_LEVELS).upper(),
        retention_days=reader.integer("GATEWAY_RETENTION_DAYS", 30),
        session_secret=_session_secret(reader.get("GATEWAY_SESSION_SECRET")),
        cookie_secure=_cookie_secure(reader.flag("GATEWAY_COOKIE_SECURE"), reader.get("GATEWAY_HOST")),
        receipt_timeout=reader.number("GATEWAY_RECEIPT_TIMEOUT", 24 * 3600),
        email_receipt_timeout=reader.number("GATEWAY_EMAIL_RECEIPT_TIMEOUT", 72 * 3600),
        poll_intervals={
            name: reader.number(*product.poll_interval)
            for name, product in registry.products().items()
            if product.poll_interval is not None
        },
        callback_max_body_bytes=reader.integer("GATEWAY_CALLBACK_MAX_BODY_BYTES", 1024 * 1024),
        **_content_settings(reader)._asdict(),
        prices=_prices(reader.csv("GATEWAY_PRICES")),
    )
    if not fake_ad_text:
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

    def port(self, name: str, default: int) -> int:
        port = self.integer(name, default)
        if port > _MAX_PORT:
            raise ConfigError(f"{name}={port} is not a TCP port (1 to {_MAX_PORT})")
        return port

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

    def choices(self, name: str, default: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
        """A comma-separated, ordered list of distinct values from ``allowed`` (``default`` when unset)."""
        values = tuple(value.lower() for value in self.csv(name)) or (default,)
        for value in values:
            if value not in allowed:
                raise ConfigError(f"{name}: {value!r} is not one of {', '.join(allowed)}")
        if len(set(values)) != len(values):
            raise ConfigError(f"{name} names a vendor twice")
        return values

    def choice(self, name: str, default: str, allowed: tuple[str, ...]) -> str:
        value = (self.get(name) or default).lower()
        if value not in allowed:
            raise ConfigError(f"{name}={value!r} is not one of {', '.join(allowed)}")
        return value


def _emulated_products(reader: _Env, forced: bool | None) -> frozenset[str]:
    """The products answered by emulators: those without credentials, unless ``GATEWAY_SANDBOX`` forces it.

    Forced off, none; forced on, all but those given credentials with a URL, which always mean real HTTP
    (docs/ARCHITECTURE.md, "Sandbox mode"). A product with some but not all of its credentials set stops the
    start: that is surely a typo or a missing secret, and guessing either way would send real traffic to an
    emulator or fake keys to a vendor.
    """
    if forced is True:
        return frozenset(
            product
            for product, names in PRODUCTS.items()
            if not (reader.get(_url_variable(product)) and all(reader.get(name) for name in names))
        )
    emulated = set()
    for product, names in PRODUCTS.items():
        missing = [name for name in names if not reader.get(name)]
        if missing and len(missing) < len(names):
            raise ConfigError(
                f"{', '.join(missing)} not set while other {product} credentials are: "
                f"set all of {', '.join(names)} for real HTTP, or none to emulate {product}"
            )
        if missing and forced is None:
            emulated.add(product)
    return frozenset(emulated)


class _ProductEnv:
    """The environment as one product's loader sees it: placeholders for what an emulated product lacks."""

    def __init__(self, reader: _Env, *, emulated: bool) -> None:
        self._reader = reader
        self._emulated = emulated

    def get(self, name: str) -> str | None:
        return self._reader.get(name)

    def need(self, name: str) -> str | None:
        value = self._reader.get(name)
        if value is None and self._emulated:
            return _SANDBOX_PLACEHOLDERS.get(name, _SANDBOX_SECRET)
        return value


def _url_variable(product: str) -> str:
    return f"GATEWAY_{product.upper()}_URL"


def _product_configs(reader: _Env, emulated: frozenset[str]) -> dict[str, Any]:
    """Each product's config from its variables; an emulated product gets placeholders for missing ones."""
    configs = {}
    for name, product in registry.products().items():
        url = (reader.get(_url_variable(name)) or product.default_url).rstrip("/")
        config = product.load(_ProductEnv(reader, emulated=name in emulated), url)
        if config is not None:
            configs[name] = config
    return configs


def _chosen_product(vendor: str, channel: str) -> Product:
    product = registry.vendor(vendor).product_for(channel)
    assert product is not None  # CHANNEL_VENDORS only offers vendors with a product for the channel
    return product


def _check_vendor_configs(reader: _Env, chains: dict[str, tuple[str, ...]], configs: dict[str, Any]) -> None:
    """Every chosen vendor (each of a failover list too) can send: emulated, or real with its credentials and its
    shared sender values."""
    for channel, vendor in ((channel, vendor) for channel, chain in chains.items() for vendor in chain):
        product = _chosen_product(vendor, channel)
        config = configs.get(product.name)
        if config is None or channel not in product.senders(config):
            needs = (*product.credentials, *product.needs.get(channel, ()))  # type: ignore[call-overload]
            missing = ", ".join(name for name in needs if not reader.get(name))
            # Without its credentials the product could be emulated; with them, only the sender value is missing.
            hint = " (or GATEWAY_SANDBOX=on)" if not reader.get(product.credentials[0]) else ""
            raise ConfigError(f"GATEWAY_{channel.upper()}_VENDOR={vendor} needs {missing}{hint}")


def _check_hosts(configs: dict[str, Any], emulated: frozenset[str]) -> None:
    """A real product cannot share a host with an emulated one: the emulator would answer its requests."""
    hosts = {product: urlsplit(config.url).hostname for product, config in configs.items()}
    emulated_hosts = {hosts[product]: product for product in emulated if product in hosts}
    for product, host in hosts.items():
        other = emulated_hosts.get(host)
        if product not in emulated and other is not None:
            raise ConfigError(
                f"{_url_variable(product)} and {_url_variable(other)} name the same host, but "
                f"{product} is real and {other} emulated: give {other} its credentials or another URL"
            )


def _sandbox_outcomes(entries: list[str]) -> dict[str, dict[str, str]]:
    """``product:recipient=code`` entries (a product of :data:`PRODUCTS`) by product and recipient.

    Phone numbers are kept as digits and addresses with the domain in lower case: the forms the emulators see.
    """
    outcomes: dict[str, dict[str, str]] = {}
    for entry in entries:
        product, _, rest = entry.partition(":")
        recipient, _, code = rest.partition("=")
        product, recipient, code = product.strip(), recipient.strip(), code.strip()
        if product not in PRODUCTS or not recipient or not code:
            raise ConfigError(
                f"GATEWAY_SANDBOX_OUTCOMES entry {entry!r} is not product:recipient=code "
                f"(product one of {', '.join(PRODUCTS)})"
            )
        local, at, domain = recipient.rpartition("@")
        key = f"{local}@{domain.lower()}" if at else re.sub(r"\D", "", recipient)
        outcomes.setdefault(product, {})[key] = code
    return outcomes


def _prices(entries: list[str]) -> dict[str, float]:
    """``channel=price`` entries (``kakao=15,lms=30,email=0.5``): KRW per message, each channel at most once."""
    prices: dict[str, float] = {}
    for entry in entries:
        channel, _, value = (part.strip() for part in entry.partition("="))
        try:
            price = float(value)
        except ValueError:
            price = -1.0
        if channel not in CHANNEL_VENDORS or channel in prices or not 0 <= price < math.inf:
            raise ConfigError(
                f"GATEWAY_PRICES entry {entry!r} is not channel=price with a channel ({', '.join(CHANNEL_VENDORS)}) "
                "given once and a price of 0 or more KRW per message, e.g. kakao=15,lms=30,email=0.5"
            )
        prices[channel] = price
    return prices


def _lms_emulated(emulated: frozenset[str]) -> bool:
    """Whether every LMS product is emulated, so that no advertising LMS (nor kakao's LMS fallback) reaches a phone.

    A body may name any LMS vendor, so the configured one alone does not decide it.
    """
    return {registry.product_of(vendor, "lms") for vendor in CHANNEL_VENDORS["lms"]} <= emulated


def _check_advertising(settings: Settings) -> None:
    """Advertising LMS (and kakao's LMS fallback) must carry the sender name and the 080 opt-out number."""
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


#: Braze gives up on a Connected Content call after 2 s; the upstream must answer (or fail) before that.
_BRAZE_CONTENT_WAIT = 2.0
_SOURCE_NAME = re.compile(r"[A-Za-z0-9_-]+")


class _ContentSettings(NamedTuple):
    content_sources: dict[str, str]
    content_ttl: float
    content_timeout: float
    content_max_bytes: int
    content_list_path: tuple[str, ...] | None
    content_cache_bytes: int


def _content_settings(reader: _Env) -> _ContentSettings:
    """The ``GATEWAY_CONTENT_*`` settings of the Connected Content cache."""
    timeout = reader.number("GATEWAY_CONTENT_TIMEOUT", 1.5)
    if timeout >= _BRAZE_CONTENT_WAIT:
        raise ConfigError(
            f"GATEWAY_CONTENT_TIMEOUT={timeout:g} must be under {_BRAZE_CONTENT_WAIT:g} seconds: "
            "Braze gives up on Connected Content after 2 s"
        )
    max_bytes = reader.integer("GATEWAY_CONTENT_MAX_BYTES", 1_000_000)
    cache_bytes = reader.integer("GATEWAY_CONTENT_CACHE_BYTES", 64 * 1024 * 1024)
    if cache_bytes < max_bytes:
        raise ConfigError(
            f"GATEWAY_CONTENT_CACHE_BYTES={cache_bytes} is smaller than GATEWAY_CONTENT_MAX_BYTES={max_bytes}: "
            "the largest answer could never be cached"
        )
    list_path = reader.get("GATEWAY_CONTENT_LIST_PATH")
    keys = tuple(list_path.split(".")) if list_path else None
    if keys is not None and not all(keys):
        raise ConfigError(f"GATEWAY_CONTENT_LIST_PATH={list_path!r} is not dot-separated keys such as data.list")
    return _ContentSettings(
        content_sources=_content_sources(reader.csv("GATEWAY_CONTENT_SOURCES")),
        content_ttl=reader.number("GATEWAY_CONTENT_TTL", 3600.0),
        content_timeout=timeout,
        content_max_bytes=max_bytes,
        content_list_path=keys,
        content_cache_bytes=cache_bytes,
    )


def _content_sources(entries: list[str]) -> dict[str, str]:
    """``name=url`` entries: a name usable in a URL path, an absolute http(s) URL, each name once."""
    sources: dict[str, str] = {}
    for entry in entries:
        name, _, url = (part.strip() for part in entry.partition("="))
        parts = urlsplit(url)
        if not _SOURCE_NAME.fullmatch(name) or parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(
                f"GATEWAY_CONTENT_SOURCES entry {name or '?'!r} must be name=http(s)://host/path "
                "(name of letters, digits, - and _)"
            )
        if name in sources:
            raise ConfigError(f"GATEWAY_CONTENT_SOURCES names {name!r} twice")
        sources[name] = url
    return sources


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


def _cookie_secure(flag: bool | None, host: str | None) -> bool:
    """``GATEWAY_COOKIE_SECURE``, else ``Secure`` unless the gateway listens on loopback only (``make run``).

    Reached from other machines the console is behind HTTPS, and a cookie without ``Secure`` would also go out
    over any plain-HTTP request to the same host. On loopback the console is a developer's ``http://127.0.0.1``,
    where a ``Secure`` cookie would not be sent back (Safari, older browsers).
    """
    if flag is not None:
        return flag
    name = (host or "127.0.0.1").strip("[]")
    if name.lower() == "localhost":
        return False
    try:
        return not ipaddress.ip_address(name).is_loopback
    except ValueError:
        return True


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
