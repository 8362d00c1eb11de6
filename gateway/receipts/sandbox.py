"""Sandbox callbacks: what the emulators owe for the messages they accepted, delivered as the vendors would.

In sandbox mode no vendor can call the gateway back, so this duty collects each emulator's pending callbacks
and hands them to the same :class:`~gateway.receipts.intake.CallbackIntake` the HTTP routes use (signature
checks included). A message then goes queued → accepted → delivered on its own.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from adapters import registry
from adapters.emulator import MAX_PENDING, EmulatedCallback, Emulator
from gateway.errors import CallbackRejected
from gateway.receipts.intake import CallbackAuth, CallbackIntake
from gateway.store.base import StoreUnavailable

__all__ = ("SandboxCallbacks",)

_log = logging.getLogger(__name__)


class SandboxCallbacks:
    """Delivers emulated vendor callbacks; a :class:`~gateway.dispatch.periodic.Duty`.

    Args:
        emulators: The runtime's emulators by name.
        intake: The callback intake the HTTP routes use.
        auth: The callback secrets, which the emulators sign with.
        interval: Seconds between collections (how long a sandbox "vendor" takes to report).
    """

    name = "sandbox callbacks"
    #: Each pass takes everything the emulators hold, which is at most this many sends each.
    batch_size = MAX_PENDING

    def __init__(
        self, emulators: Mapping[str, Emulator], intake: CallbackIntake, auth: CallbackAuth, *, interval: float = 1.0
    ) -> None:
        self._emulators = emulators
        self._intake = intake
        self._auth = auth
        self.interval = interval
        # Callbacks the store could not take yet: a vendor would send them again, so this does too.
        self._undelivered: list[EmulatedCallback] = []

    async def run_once(self) -> int:
        """Deliver every pending callback; return how many calls were made."""
        calls, self._undelivered = [*self._undelivered, *self._collect()], []
        for call in calls:
            await self._deliver(call)
        return len(calls)

    def _collect(self) -> list[EmulatedCallback]:
        calls: list[EmulatedCallback] = []
        for name, emulator in self._emulators.items():
            calls += emulator.pending_callbacks(signature=self._auth.secret(_vendor_of(name)) or "")
        return calls

    async def _deliver(self, call: EmulatedCallback) -> None:
        callback = registry.callbacks().get(call.path)
        token = self._auth.secret(call.path) if callback is not None and callback.path_token else None
        try:
            await self._intake.receive(call.path, call.headers, call.body, token=token)
        except CallbackRejected as exc:
            _log.error("sandbox callback rejected: %s", exc.detail, extra={"vendor": call.path})
        except StoreUnavailable:
            self._undelivered.append(call)


def _vendor_of(product: str) -> str:
    return next(spec.name for spec in registry.VENDORS if any(p.name == product for p in spec.products))
