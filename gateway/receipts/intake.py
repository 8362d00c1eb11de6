"""Vendor callbacks in: authenticate, parse with the vendor's module, store the receipts (SPEC §7).

The HTTP routes and the sandbox's emulated callbacks both go through :class:`CallbackIntake`, so a sandbox
callback takes exactly the path a vendor's does. Nothing here changes a message: the dispatcher's receipt
applier does that, so a callback is answered as soon as its receipts are stored.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable, Mapping, Sequence

import msgspec

from adapters import nhn_callbacks, sendgrid, solapi
from adapters.emulators.sendgrid import SendGridEmulator
from adapters.nhn_common import header_value
from adapters.registry import Runtime
from gateway.metrics import RECEIPTS
from gateway.models import Receipt
from gateway.normalise.json_body import BodyError, check_json
from gateway.settings import Settings
from gateway.store.base import Store

__all__ = (
    "CallbackAuth",
    "CallbackIntake",
    "CallbackRejected",
    "Taken",
    "UnreadableCallback",
    "callback_auth",
    "store_receipts",
)

# How an authenticated callback whose body cannot be read is answered, so that the vendor does not send it
# again: SendGrid resends on any answer but 2xx for 24 hours, Solapi on any answer but 200 (five times in all);
# NHN documents no retry policy, so it gets the plain 400.
_UNREADABLE_ANSWER = {"nhn": 400, "solapi": 200, "sendgrid": 200}
# Sandbox secrets when none is configured: random per process, so nobody can guess them from the source.
_SANDBOX_NHN_SIGNATURE = secrets.token_urlsafe(24)
_SANDBOX_SOLAPI_TOKEN = secrets.token_urlsafe(24)


class CallbackAuth(msgspec.Struct, frozen=True):
    """What authenticates each vendor's callbacks; ``None`` (no key for SendGrid) refuses that vendor's callbacks.

    SendGrid's signature is checked against each of ``sendgrid_public_keys``: the configured one, and in a
    sandbox the emulator's.
    """

    nhn_signature: str | None
    solapi_token: str | None
    sendgrid_public_keys: tuple[str, ...]


def callback_auth(settings: Settings, runtime: Runtime) -> CallbackAuth:
    """The configured callback secrets; in sandbox mode, ones the emulators sign their callbacks with."""
    configured = (settings.sendgrid_webhook_public_key,) if settings.sendgrid_webhook_public_key else ()
    if not settings.sandbox:
        return CallbackAuth(settings.nhn_webhook_signature, settings.solapi_callback_token, configured)
    emulator = runtime.emulators.get("sendgrid")
    # Emulated SendGrid's events come from the emulator, signed with its own key (random per process); a
    # configured key is used beside it, never replaced, so SendGrid's own test events verify too.
    emulated = (emulator.public_key,) if isinstance(emulator, SendGridEmulator) else ()
    return CallbackAuth(
        settings.nhn_webhook_signature or _SANDBOX_NHN_SIGNATURE,
        settings.solapi_callback_token or _SANDBOX_SOLAPI_TOKEN,
        configured + emulated,
    )


class Taken(msgspec.Struct, frozen=True):
    """What a callback brought: how many receipts, and how many of them were not stored before."""

    receipts: int
    new: int


class CallbackRejected(Exception):
    """A callback that is not taken: ``status`` is the HTTP answer, ``detail`` says why without giving hints."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class UnreadableCallback(CallbackRejected):
    """An authenticated callback whose body cannot be read (malformed, nested too deep, a key twice).

    Sending it again cannot help, so ``status`` is what stops ``vendor`` from retrying: ``200`` for a vendor that
    resends on any other answer, else ``400``. Nothing is stored either way.
    """

    def __init__(self, vendor: str, detail: str) -> None:
        super().__init__(_UNREADABLE_ANSWER[vendor], detail)
        self.vendor = vendor


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
        wall_clock: Real time, for SendGrid's timestamp check: it compares with SendGrid's own clock.
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
            vendor: ``nhn``, ``solapi`` or ``sendgrid``.
            headers: The request headers (looked up case-insensitively).
            body: The raw body, byte for byte.
            token: The secret path segment of a Solapi callback.

        Raises:
            CallbackRejected: 401 for a missing or wrong signature, 404 for a wrong Solapi token or vendor.
            UnreadableCallback: An authenticated body that cannot be read (see there). Nothing is stored.
            StoreUnavailable: The receipts could not be stored (the vendor should send again).
        """
        receipts = self.parse(vendor, headers, body, token=token)
        return Taken(len(receipts), await store_receipts(self._store, receipts, now=self._clock()))

    def parse(self, vendor: str, headers: Mapping[str, str], body: bytes, *, token: str | None = None) -> list[Receipt]:
        """Authenticate a callback and parse it into receipts (see :meth:`receive`)."""
        if vendor == "nhn":
            if not nhn_callbacks.verify_callback(headers, self._auth.nhn_signature):
                raise CallbackRejected(401, "The callback is not authenticated.")
            parse = nhn_callbacks.parse_callback
        elif vendor == "solapi":
            if not _same(token, self._auth.solapi_token):
                raise CallbackRejected(404, "No such callback URL.")
            parse = solapi.parse_callback
        elif vendor == "sendgrid":
            if not self._sendgrid_signed(headers, body):
                raise CallbackRejected(401, "The callback is not authenticated.")
            parse = sendgrid.parse_callback
        else:
            raise CallbackRejected(404, "No such callback URL.")
        try:
            check_json(body)
            return parse(body)
        except BodyError as exc:
            raise UnreadableCallback(vendor, f"The callback body cannot be read: {exc}") from None
        except ValueError as exc:
            raise UnreadableCallback(vendor, f"The callback body cannot be read: {exc}.") from None

    def _sendgrid_signed(self, headers: Mapping[str, str], body: bytes) -> bool:
        signature = header_value(headers, sendgrid.SIGNATURE_HEADER)
        timestamp = header_value(headers, sendgrid.TIMESTAMP_HEADER)
        if not (signature and timestamp):
            return False
        now = self._wall_clock()
        return any(
            sendgrid.verify_signature(key, signature, timestamp, body, now=now)
            for key in self._auth.sendgrid_public_keys
        )


def _same(presented: str | None, expected: str | None) -> bool:
    """Constant-time comparison; nothing configured matches nothing."""
    if not presented or not expected:
        return False
    return hmac.compare_digest(presented.encode(), expected.encode())
