"""The transport under the one shared httpx client: aiohttp's connection pool by default, httpcore's on request.

httpx stays the API everywhere; only what moves the bytes is chosen here. httpcore's pool looks at every pooled
connection on every request (``_assign_requests_to_connections`` → ``has_expired`` → ``is_socket_readable``), so its
cost grows with the pool: with the vendors over real HTTP it took two thirds of the gateway's CPU and a finished
message cost 10.6–10.8 ms of CPU; with aiohttp's pool (a queue of idle connections per host) 0.97 ms (bench/README.md,
Pipeline). ``GATEWAY_HTTP_TRANSPORT=httpx`` keeps httpcore's pool, which respx's default mock intercepts.

The aiohttp transport (``httpx-aiohttp``) maps aiohttp's errors coarsely: a refused connection, a server that hangs
up after the request was written and a connect timeout all come out as ``ConnectTimeout``. Whether a request may
have reached the vendor decides whether a retry can send twice, so :class:`VendorTransport` states the phase:
``ConnectError``/``ConnectTimeout`` only when nothing was sent, ``ReadError``/``ReadTimeout`` otherwise.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Literal

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

from adapters.base import HTTP_LIMITS

__all__ = ("TransportKind", "VendorTransport", "network_transport")

TransportKind = Literal["aiohttp", "httpx"]


def _phase_error(exc: httpx.TransportError) -> httpx.TransportError:
    """The httpx error that says in which phase the aiohttp error behind ``exc`` happened."""
    cause = exc.__cause__
    if isinstance(cause, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(str(exc))
    if isinstance(cause, aiohttp.ClientConnectorError):
        return httpx.ConnectError(str(exc))
    if isinstance(cause, aiohttp.ServerTimeoutError | asyncio.TimeoutError):
        return httpx.ReadTimeout(str(exc))
    if isinstance(cause, aiohttp.ClientConnectionError | aiohttp.ClientPayloadError):
        return httpx.ReadError(str(exc))
    return exc


class _PhasedStream(httpx.AsyncByteStream):
    """A response body whose read errors are re-stated like :meth:`VendorTransport.handle_async_request`'s."""

    def __init__(self, stream: httpx.AsyncByteStream) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._stream:
                yield chunk
        except httpx.TransportError as exc:
            raise _phase_error(exc) from exc.__cause__

    async def aclose(self) -> None:
        await self._stream.aclose()


class VendorTransport(AiohttpTransport):
    """``httpx-aiohttp``'s transport, with errors that tell whether the request may have been sent.

    Its session ignores cookies (no vendor call needs them) and the proxy variables: aiohttp reads ``*_PROXY`` and
    ``~/.netrc`` again for every request when told to trust the environment, which cost a tenth of the gateway's
    CPU in the pipeline benchmark. Behind a proxy, ``GATEWAY_HTTP_TRANSPORT=httpx`` honours ``HTTPS_PROXY``.
    """

    def __init__(self, limits: httpx.Limits = HTTP_LIMITS) -> None:
        super().__init__(limits=limits, client=self._session)

    def _session(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self.limits.max_connections or 0, keepalive_timeout=self.limits.keepalive_expiry, ssl=self.ssl_context
        )
        return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar())

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            response = await super().handle_async_request(request)
        except httpx.TransportError as exc:
            raise _phase_error(exc) from exc.__cause__
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _PhasedStream(response.stream)
        return response


def network_transport(kind: TransportKind = "aiohttp") -> httpx.AsyncBaseTransport:
    """A new transport to the network with the shared pool limits: ``aiohttp`` (the default) or ``httpx``'s own."""
    if kind == "httpx":
        return httpx.AsyncHTTPTransport(limits=HTTP_LIMITS)
    return VendorTransport()
