"""The receipt sweep: an accepted message whose receipt never comes ends ``unknown`` instead of waiting forever.

Kakao and LMS wait ``GATEWAY_RECEIPT_TIMEOUT`` (a day) after acceptance; email waits
``GATEWAY_EMAIL_RECEIPT_TIMEOUT`` (three days, as email vendors retry deferred mail for up to 72 hours).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from gateway.events import status_changed
from gateway.models import Status
from gateway.settings import Settings
from gateway.store.base import Store

__all__ = ("ReceiptSweep",)


class ReceiptSweep:
    """Moves accepted messages past their receipt timeout to ``unknown``; a :class:`~gateway.dispatch.periodic.Duty`.

    Args:
        store: Where the messages are.
        settings: The receipt timeouts and whether final states are reported to Braze.
        clock: Current POSIX time.
        batch_size: Messages per channel per pass.
        interval: Seconds between passes when nothing is left over.
    """

    name = "receipt sweep"

    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        clock: Callable[[], float] = time.time,
        batch_size: int = 500,
        interval: float = 60.0,
    ) -> None:
        self._store = store
        self._timeouts = {
            "kakao": settings.receipt_timeout,
            "lms": settings.receipt_timeout,
            "email": settings.email_receipt_timeout,
        }
        self._feedback = settings.braze_feedback
        self._clock = clock
        self.batch_size = batch_size
        self.interval = interval

    async def run_once(self) -> int:
        """Expire one batch per channel; return how many messages ended ``unknown``."""
        now = self._clock()
        expired = 0
        for channel, timeout in self._timeouts.items():
            reason = f"no delivery receipt within {_duration(timeout)} of acceptance: final state unknown"
            moved = await self._store.expire_accepted(
                channel, now - timeout, reason, now=now, limit=self.batch_size, feedback=self._feedback
            )
            expired += len(moved)
            for message_id in moved:
                status_changed(message_id, Status.UNKNOWN)
        return expired


def _duration(seconds: float) -> str:
    """``24 h``, ``90 min`` or ``45 s``: the largest whole unit."""
    for unit, size in (("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g} {unit}"
    return f"{seconds:g} s"
