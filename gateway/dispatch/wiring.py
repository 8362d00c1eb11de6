"""What every part of the dispatcher shares: the store, the vendors' adapters and gates, the settings, the clock."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

import httpx

from adapters.base import Adapter
from adapters.batch import BatchAdapter
from adapters.spec import Lookup
from gateway.dispatch.failover import next_vendor
from gateway.dispatch.limits import Gates
from gateway.images.uploads import ImageUploads
from gateway.normalise.inbound import Policy
from gateway.settings import Settings
from gateway.store.base import Report, Store

__all__ = ("Wiring",)


class Wiring:
    """The dispatcher's collaborators, handed to each of its parts (see :class:`~gateway.dispatch.dispatcher.Dispatcher`
    for what each is).

    Attributes:
        batch_adapters: The adapters that take many messages per request, by route.
    """

    __slots__ = (
        "adapters",
        "batch_adapters",
        "client",
        "clock",
        "gates",
        "images",
        "lookups",
        "policy",
        "settings",
        "sleep",
        "store",
    )

    def __init__(
        self,
        store: Store,
        adapters: Mapping[tuple[str, str], Adapter],
        client: httpx.AsyncClient,
        settings: Settings,
        policy: Policy,
        *,
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]],
        gates: Gates,
        lookups: Mapping[tuple[str, str], Lookup],
        images: ImageUploads | None,
    ) -> None:
        self.store = store
        self.adapters = adapters
        self.batch_adapters = {route: a for route, a in adapters.items() if isinstance(a, BatchAdapter)}
        self.client = client
        self.settings = settings
        self.policy = policy
        self.clock = clock
        self.sleep = sleep
        self.gates = gates
        self.lookups = dict(lookups)
        self.images = images

    def report(self, code: str | None) -> Report | None:
        """The Braze report that goes with a final state, when feedback is configured."""
        return Report(code) if self.settings.braze_feedback else None

    def next_vendor(self, vendor: str, channel: str) -> str | None:
        """The vendor after ``vendor`` in ``channel``'s failover order that is configured and not paused."""
        chain = self.settings.vendor_chain(channel)
        ready = {
            other
            for other in chain
            if (other, channel) in self.adapters and not self.gates.get(other, channel).breaker.paused()
        }
        return next_vendor(chain, vendor, ready)
