"""Vendor callbacks in: authenticate, parse with the vendor's module, store the receipts (docs/ARCHITECTURE.md).

The HTTP routes and the sandbox's emulated callbacks both go through :class:`CallbackIntake`, so a sandbox
callback takes exactly the path a vendor's does. Nothing here changes a message: the dispatcher's receipt
applier does that, so a callback is answered as soon as its receipts are stored. Each vendor's spec (the
registry's) says how its callbacks are authenticated and parsed.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Mapping, Sequence

import msgspec

from adapters import registry
from adapters.registry import Runtime
from adapters.spec import CallbackRequest
from gateway.errors import CallbackUnauthenticated, MalformedCallback, UnknownCallback
from gateway.metrics import RECEIPTS
from gateway.models import Receipt
from gateway.normalise.json_body import BodyError, check_json
from gateway.settings import Settings
from gateway.store.base import Store

_log = logging.getLogger(__name__)

__all__ = ("CallbackAuth", "CallbackIntake", "Taken", "callback_auth", "store_receipts")

# Sandbox secrets when none is configured: random per process, so nobody can guess them from the source.
_SANDBOX_SECRETS = {vendor: secrets.token_urlsafe(24) for vendor in registry.callbacks()}


class CallbackAuth(msgspec.Struct, frozen=True):
    """What authenticates each vendor's callbacks: the secrets it may sign with (none: its callbacks are refused).

    A vendor has one secret, or in a sandbox where its product is emulated, the configured one (if any) beside
    its emulator's key, so that the vendor's own test events verify too.
    """

    secrets: dict[str, tuple[str, ...]]
    #: Per product signing with its own secret (its spec's ``product_variables``), what replaces its vendor's.
    products: dict[str, tuple[str, ...]] = msgspec.field(default_factory=dict)
    #: Per vendor signing a timestamp, how far it may be from now.
    tolerances: dict[str, float] = msgspec.field(default_factory=dict)

    def secret(self, vendor: str) -> str | None:
        """The secret ``vendor``'s (emulated) callbacks are signed with: its first one."""
        found = self.secrets.get(vendor, ())
        return found[0] if found else None


def callback_auth(settings: Settings, runtime: Runtime) -> CallbackAuth:
    """The configured callback secrets; in sandbox mode, ones the emulators sign their callbacks with."""
    # An emulated product signs with its vendor's sandbox secret, so only real products keep their own.
    products: dict[str, tuple[str, ...]] = {
        product: (secret,)
        for product, secret in settings.callback_product_secrets.items()
        if product not in settings.emulated
    }
    if not settings.sandbox:
        given = {vendor: _given(secret) for vendor, secret in settings.callback_secrets.items()}
        return CallbackAuth(given, products, settings.callback_tolerances)
    found: dict[str, tuple[str, ...]] = {}
    for vendor, callback in registry.callbacks().items():
        configured = _given(settings.callback_secrets.get(vendor))
        emulated = [runtime.emulators[name] for name in sorted(callback.products) if name in runtime.emulators]
        if callback.emulator_key is not None and emulated:
            # The emulator signs with its own key (random per process); a configured key stays beside it.
            found[vendor] = (*configured, callback.emulator_key(emulated[0]))
        else:
            found[vendor] = configured or (_SANDBOX_SECRETS[vendor],)
    return CallbackAuth(found, products, settings.callback_tolerances)


def _each(vendor: str, parse: Callable[[bytes], list[Receipt]], reports: list[bytes]) -> tuple[list[Receipt], int]:
    receipts: list[Receipt] = []
    problems: list[str] = []
    for report in reports:
        try:
            receipts += parse(report)
        except ValueError as exc:
            problems.append(str(exc))
    if problems:
        RECEIPTS.labels(vendor, "malformed").inc(len(problems))
        _log.warning(
            "malformed reports dropped from a callback: %d of %d (first: %s)",
            len(problems),
            len(reports),
            problems[0],
            extra={"vendor": vendor},
        )
        if not receipts:
            raise ValueError(f"no report could be read ({problems[0]})")
    return receipts, len(problems)


def _product(product_of: Callable[[bytes], str | None], body: bytes) -> str | None:
    """The product a body names, once it passed the JSON limits (a hostile body is refused later, as unreadable)."""
    try:
        check_json(body)
    except BodyError:
        return None
    return product_of(body)


def _given(secret: str | None) -> tuple[str, ...]:
    return (secret,) if secret else ()


class Taken(msgspec.Struct, frozen=True):
    """What a callback brought: how many receipts, and how many of them were not stored before."""

    receipts: int
    new: int
    #: Reports of a batch that could not be read, dropped (logged and counted) while the others were stored.
    malformed: int = 0


async def store_receipts(store: Store, receipts: Sequence[Receipt], *, now: float) -> int:
    """Store receipts (a stored vendor event again is skipped), count them by outcome; return how many were new."""
    added = await store.add_receipts(receipts, now=now)
    for receipt, new in zip(receipts, added, strict=True):
        RECEIPTS.labels(receipt.vendor, receipt.outcome if new else "duplicate").inc()
    return sum(added)


class CallbackIntake:
    """Takes vendor callbacks in.

    Args:
        store: Where receipts go.
        auth: The secrets that authenticate callbacks.
        clock: Current POSIX time, for the time a receipt was received.
        wall_clock: Real time, for signatures with a timestamp: they compare with the vendor's own clock.
    """

    def __init__(
        self,
        store: Store,
        auth: CallbackAuth,
        *,
        clock: Callable[[], float] = time.time,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._auth = auth
        self._clock = clock
        self._wall_clock = wall_clock

    async def receive(self, vendor: str, headers: Mapping[str, str], body: bytes, *, token: str | None = None) -> Taken:
        """Authenticate and parse one callback and store its receipts.

        Args:
            vendor: The vendor whose callback URL was called.
            headers: The request headers (looked up case-insensitively).
            body: The raw body, byte for byte.
            token: The secret path segment, for a vendor whose URL carries one.

        Raises:
            CallbackUnauthenticated: A missing or wrong signature.
            UnknownCallback: No such vendor callback, or a wrong path token.
            MalformedCallback: An authenticated body that cannot be read (see there). Nothing is stored for any of
                these.
            StoreUnavailable: The receipts could not be stored (the vendor should send again).
        """
        receipts, malformed = self.parse(vendor, headers, body, token=token)
        return Taken(len(receipts), await store_receipts(self._store, receipts, now=self._clock()), malformed)

    def parse(
        self, vendor: str, headers: Mapping[str, str], body: bytes, *, token: str | None = None
    ) -> tuple[list[Receipt], int]:
        """Authenticate a callback and parse it into receipts, with how many reports were dropped (see :meth:`receive`).

        A vendor whose batches can be split (its spec's ``split``) has each report read alone: a malformed one is
        logged, counted (``gateway_receipts_total{outcome="malformed"}``) and dropped, the others kept. Only a body
        with no readable report is refused as a whole.
        """
        callback = registry.callbacks().get(vendor)
        if callback is None:
            raise UnknownCallback("No such callback URL.")
        request = CallbackRequest(
            headers=headers, body=body, token=token, now=self._wall_clock(), tolerance=self._auth.tolerances.get(vendor)
        )
        accepted = self._auth.secrets.get(vendor, ())
        if callback.product_of is not None and self._auth.products:
            product = _product(callback.product_of, body)
            if product is not None:
                accepted = self._auth.products.get(product, accepted)
        if not any(callback.authentic(request, secret) for secret in accepted):
            # A wrong path token is a URL that does not exist; a wrong signature is unauthenticated.
            if callback.path_token:
                raise UnknownCallback("No such callback URL.")
            raise CallbackUnauthenticated("The callback is not authenticated.")
        try:
            check_json(body)
            if callback.split is None:
                return callback.parse(body), 0
            return _each(vendor, callback.parse, callback.split(body))
        except BodyError as exc:
            raise MalformedCallback(f"The callback body cannot be read: {exc}", acknowledge=callback.resends) from None
        except ValueError as exc:
            raise MalformedCallback(f"The callback body cannot be read: {exc}.", acknowledge=callback.resends) from None
