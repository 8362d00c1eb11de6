"""In sandbox mode the vendors are emulated but Braze is not: its host goes to the network.

When every vendor is emulated, the emulators' transport refuses every other host, so that a sandbox never reaches
a real vendor (when some vendors are real it sends their hosts to the network already). Braze is where final
states are reported, not a vendor; with ``GATEWAY_BRAZE_*`` set, a sandbox reports to it.
"""

from __future__ import annotations

import httpx

from adapters.transport import network_transport
from gateway.settings import Settings

__all__ = ("BrazePassThrough", "with_braze")


class BrazePassThrough(httpx.AsyncBaseTransport):
    """Sends requests for ``braze_host`` over the network and every other request to ``emulated``."""

    def __init__(self, emulated: httpx.AsyncBaseTransport, braze_host: str, network: httpx.AsyncBaseTransport) -> None:
        self._emulated = emulated
        self._braze_host = braze_host
        self._network = network

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == self._braze_host:
            return await self._network.handle_async_request(request)
        return await self._emulated.handle_async_request(request)

    async def aclose(self) -> None:
        await self._network.aclose()
        await self._emulated.aclose()


def with_braze(transport: httpx.AsyncBaseTransport | None, settings: Settings) -> httpx.AsyncBaseTransport | None:
    """``transport``, letting Braze through when it is the emulators' and Braze feedback is configured."""
    if transport is None or not (settings.braze_feedback and settings.braze_rest_url):
        return transport
    braze_host = httpx.URL(settings.braze_rest_url).host
    return BrazePassThrough(transport, braze_host, network_transport(settings.http_transport))
