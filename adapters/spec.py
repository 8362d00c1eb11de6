"""What one vendor package declares: its products, callback, poller, capabilities and reasons.

Each package under ``adapters/`` exports one :class:`VendorSpec`; :mod:`adapters.registry` lists them and the
gateway reads everything vendor-specific from there (settings, senders, callback routes, sandbox callbacks,
pollers, filters, the console, the normalisation policy). docs/ARCHITECTURE.md walks through adding one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

import httpx
import msgspec

from adapters.base import Adapter
from adapters.contract import Channel, LookupResult, Reason, Receipt, ReceiptOutcome
from adapters.emulator import Emulator

__all__ = (
    "Callback",
    "CallbackRequest",
    "Capabilities",
    "ImageRule",
    "ImageUpload",
    "ImageUploadFailed",
    "KakaoImages",
    "Lookup",
    "LookupTarget",
    "Poll",
    "PollTarget",
    "Product",
    "ProductConfig",
    "ProductEnv",
    "VendorSpec",
)


class ProductEnv(Protocol):
    """The environment as one product's loader sees it."""

    def get(self, name: str) -> str | None:
        """The variable's value, or ``None`` when it is unset or blank."""
        ...

    def need(self, name: str) -> str | None:
        """The variable's value; a sandbox placeholder when the product is emulated; else ``None`` when unset."""
        ...


class ProductConfig(Protocol):
    """What the gateway reads of any product's configuration: the base URL its requests go to."""

    @property
    def url(self) -> str: ...


class PollTarget(msgspec.Struct, frozen=True, kw_only=True):
    """An accepted message whose result a poller looks up.

    Attributes:
        message_id: Our id, which the sender put in the vendor's correlation field.
        vendor_message_id: The vendor's id from the acceptance (``None`` when the answer was unreadable).
        created_at: When the message was created (POSIX seconds): the earliest the vendor can have sent it.
        now: The current time.
    """

    message_id: str
    vendor_message_id: str | None
    created_at: float
    now: float


#: Looks up the results of one accepted message over the shared client; raises ``httpx.HTTPError`` or
#: ``ValueError`` when the lookup failed (it is tried again at the next interval).
Poll = Callable[[httpx.AsyncClient, PollTarget], Awaitable[list[Receipt]]]


class LookupTarget(msgspec.Struct, frozen=True, kw_only=True):
    """A message whose last send is uncertain, to be looked up at the vendor.

    Attributes:
        message_id: Our id, which the sender put in the vendor's correlation field.
        phone: The recipient's phone (a lookup filter where the vendor has no correlation filter), if any.
        email: The recipient's address, if any.
        sent_at: When the uncertain attempt started (POSIX seconds): the lookup window is built around it.
        now: The current time.
    """

    message_id: str
    phone: str | None = None
    email: str | None = None
    sent_at: float
    now: float


#: Asks the vendor whether it took one message; never raises for the vendor's trouble (that is ``CannotTell``).
Lookup = Callable[[httpx.AsyncClient, LookupTarget], Awaitable[LookupResult]]


class Product(msgspec.Struct, frozen=True, kw_only=True):
    """One vendor API with its own credentials: emulated or real as a whole.

    Attributes:
        name: ``nhn_kakao``, ``solapi``, ...: the key of ``GATEWAY_SANDBOX_OUTCOMES`` and of the runtime's
            emulators; ``GATEWAY_<NAME>_URL`` overrides ``default_url``.
        channels: The channels it can send.
        credentials: The variables that make it real: all set, real HTTP; none, its emulator answers.
        default_url: The vendor's production base URL.
        load: Builds the config from the environment and the base URL; ``None`` when a needed value is missing.
        senders: The adapter of each channel the config can send (a config may lack what one channel needs).
        emulator: Builds its emulator from the config and the sandbox outcomes by recipient.
        needs: Per channel, the variables beyond ``credentials`` that sending it for real needs (for the
            error that names them).
        poll: Where results are polled rather than called back: builds the lookup from the config.
        poll_interval: The variable and default seconds between two polls of one message.
        code_text: Plain words (Korean, then English) for support staff for each code it reports.
        lookup: Builds, from the config, the query that tells whether the vendor took a message whose send is
            uncertain (docs/ARCHITECTURE.md, "Uncertain sends"); without it an uncertain send is tried again.
        kakao_images: Builds, from the config, how its kakao sends take an image from any URL (checked, uploaded,
            cached); without it the image URL goes to the vendor as given.
    """

    name: str
    channels: tuple[Channel, ...]
    credentials: tuple[str, ...]
    default_url: str
    load: Callable[[ProductEnv, str], Any]
    senders: Callable[[Any], Mapping[Channel, Adapter]]
    emulator: Callable[[Any, Mapping[str, str] | None], Emulator]
    needs: Mapping[Channel, tuple[str, ...]] = msgspec.field(default_factory=dict)
    poll: Callable[[Any], Poll] | None = None
    poll_interval: tuple[str, float] | None = None
    code_text: Mapping[str, str] = msgspec.field(default_factory=dict)
    lookup: Callable[[Any], Lookup] | None = None
    kakao_images: Callable[[Any], KakaoImages] | None = None


class CallbackRequest(msgspec.Struct, frozen=True, kw_only=True):
    """A vendor callback as received: headers (looked up case-insensitively), the raw body and any path token."""

    headers: Mapping[str, str]
    body: bytes
    token: str | None = None
    #: Real time, for signatures with a timestamp: they compare with the vendor's own clock.
    now: float
    #: How far (seconds) a signed timestamp may be from ``now``: the callback's ``tolerance`` setting.
    tolerance: float | None = None


class Callback(msgspec.Struct, frozen=True, kw_only=True):
    """How a vendor calls back with delivery receipts.

    Attributes:
        auth_variable: The variable that authenticates its callbacks (e.g. ``GATEWAY_NHN_WEBHOOK_SIGNATURE``).
        products: The products whose receipts arrive here (a real one without ``auth_variable`` set is warned about).
        summary: The route's OpenAPI summary.
        authentic: Whether a callback carries the secret (in constant time); ``None`` configured matches nothing.
        parse: The receipts in a body; ``ValueError`` for a malformed one.
        path_token: The secret is a path segment (``/v1/callbacks/<vendor>/<token>``) rather than a header.
        emulator_key: When the product is emulated, its emulator signs with its own key (a public key), accepted
            beside the configured one, instead of a random sandbox value.
        resends: The vendor sends a callback again on any answer but 200 (docs/vendors.md), so an authenticated
            body that cannot be read is answered 200, saying why it was dropped, rather than resent forever.
        product_variables: Per product whose console sets its own secret, the variable holding it; a product
            whose variable is unset uses ``auth_variable``'s.
        tolerance: The variable and default seconds a signed timestamp may be from now, for a vendor that signs one.
        split: The reports of a batch body one by one, each a body ``parse`` takes alone (``ValueError`` when the
            body is no batch), so a malformed report is dropped and counted while the others are applied.
        product_of: Which of ``products`` a body says it comes from (``None``: cannot tell), to check it against
            that product's secret.
    """

    auth_variable: str
    products: frozenset[str]
    summary: str
    authentic: Callable[[CallbackRequest, str | None], bool]
    parse: Callable[[bytes], list[Receipt]]
    path_token: bool = False
    emulator_key: Callable[[Emulator], str] | None = None
    resends: bool = False
    product_variables: Mapping[str, str] = msgspec.field(default_factory=dict)
    product_of: Callable[[bytes], str | None] | None = None
    split: Callable[[bytes], list[bytes]] | None = None
    tolerance: tuple[str, float] | None = None


#: Uploads a checked image (bytes, a file name with its extension) and returns the vendor's URL or id for it;
#: raises ``ValueError`` (:class:`ImageUploadFailed`) when the vendor does not take it, ``httpx.HTTPError`` when
#: the call fails.
ImageUpload = Callable[[httpx.AsyncClient, bytes, str], Awaitable[str]]


class ImageUploadFailed(ValueError):
    """The vendor did not take an image; ``code`` is its result or error code (``None``: no readable answer)."""

    def __init__(self, code: int | str | None, detail: str) -> None:
        super().__init__(f"{code}: {detail}" if code is not None else detail)
        self.code = code
        self.detail = detail


class ImageRule(msgspec.Struct, frozen=True, kw_only=True):
    """A vendor's limits for a kakao image (docs/vendors.md, "Kakao images"): jpg or png only.

    Attributes:
        max_bytes: The largest file.
        min_width: The narrowest image, in pixels.
        min_ratio: The smallest height ÷ width.
        max_ratio: The largest height ÷ width.
    """

    max_bytes: int
    min_width: int
    min_ratio: float
    max_ratio: float


class KakaoImages(msgspec.Struct, frozen=True, kw_only=True):
    """How a vendor takes a kakao image from any URL: its rule, and the upload whose result the send carries.

    ``gone_codes`` are the vendor's codes for a send naming an uploaded image it no longer has: the gateway then
    forgets its cached copy and sends the message again with a fresh upload.
    """

    rule: ImageRule
    upload: ImageUpload
    gone_codes: frozenset[str] = frozenset()


class Capabilities(msgspec.Struct, frozen=True, kw_only=True):
    """What the gateway may rely on a vendor for.

    Attributes:
        kakao_images: Its kakao message takes an image URL (otherwise normalisation drops the image, with a note).
        resend_after: Seconds after an acceptance before the same send key may go again; a ``retry_later``
            receipt waits at least this long, so the vendor does not refuse the new send as a repeat.
    """

    kakao_images: bool = False
    resend_after: float = 0.0


class VendorSpec(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the gateway knows about one vendor.

    Attributes:
        name: The vendor as bodies, settings (``GATEWAY_<CHANNEL>_VENDOR``, ``GATEWAY_<NAME>_RATE``) and stored
            messages name it.
        products: Its APIs.
        reason: What a receipt code means (``channel``, ``outcome``, ``code``); the parsers set it with this,
            and the gateway asks it for receipts stored without one.
        callback: How it calls back, if it does.
        capabilities: What it can do beyond sending.
        title: Its name as people write it (``Solapi``), for notes; ``name`` when empty.
    """

    name: str
    products: tuple[Product, ...]
    reason: Callable[[Channel, ReceiptOutcome, str | None], Reason]
    callback: Callback | None = None
    capabilities: Capabilities = Capabilities()
    title: str = ""

    @property
    def channels(self) -> frozenset[Channel]:
        """The channels some product of the vendor sends."""
        return frozenset(channel for product in self.products for channel in product.channels)

    def product_for(self, channel: str) -> Product | None:
        """The product that sends ``channel``, if any."""
        return next((product for product in self.products if channel in product.channels), None)
