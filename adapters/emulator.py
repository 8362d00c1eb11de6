"""In-process vendor emulators for sandbox mode, tests and benchmarks.

An :class:`EmulatorTransport` is an httpx transport that answers requests to an emulated vendor's host with that
vendor's emulator, so the real adapter builds and sends the real request and only the wire is swapped; requests to
the other vendors' hosts can go over the network (its ``fallback``).
Each emulator can be told to misbehave with :meth:`Emulator.script` (one fault per coming request) or
:attr:`Emulator.latency` (every request).
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

import httpx
import msgspec

__all__ = ("MAX_PENDING", "REQUEST_LOG_SIZE", "EmulatedCallback", "Emulator", "EmulatorTransport", "Fault")

_JSON = msgspec.json.Encoder()
#: How many received requests an emulator remembers for tests and support.
REQUEST_LOG_SIZE = 10_000
#: Accepted sends an emulator keeps for its callbacks or queries; older ones are dropped so a sandbox that never
#: collects them keeps a flat memory.
MAX_PENDING = 100_000


class Fault(msgspec.Struct, frozen=True, kw_only=True):
    """One scripted misbehaviour.

    Attributes:
        http_status: Answer with this HTTP status and the vendor's error body for it.
        vendor_code: Answer with the vendor's error body carrying this vendor result code (NHN answers these
            with HTTP 200).
        retry_after: Seconds for a ``Retry-After`` header (with ``http_status`` 429 or 503).
        timeout: Raise a read timeout instead of answering.
        received: With ``timeout``: take the request first, as the vendor would (an accepted send is recorded and
            later reported), and only then time out: "received but not answered", an uncertain send.
        delay: Seconds to wait before answering (or before timing out).
    """

    http_status: int | None = None
    vendor_code: str | None = None
    retry_after: float | None = None
    timeout: bool = False
    received: bool = False
    delay: float = 0.0


class EmulatedCallback(msgspec.Struct, frozen=True, kw_only=True):
    """A vendor callback an emulator wants delivered to the gateway.

    Attributes:
        path: The vendor's suffix under ``/v1/callbacks/`` (``"nhn"``, ``"solapi"``, ``"sendgrid"``); the caller
            appends anything secret it owns (the Solapi path token).
        headers: The headers the vendor sends (content type, signature).
        body: The raw body, byte for byte as signed.
    """

    path: str
    headers: dict[str, str]
    body: bytes


class Emulator:
    """Base class: fault scripting, latency and a log of received requests.

    Subclasses implement :meth:`accept` and :meth:`error`.

    Args:
        url: The vendor base URL the adapter is configured with: the emulator answers at its host, so a
            ``GATEWAY_*_URL`` pointing elsewhere (a staging host) is emulated too.
        latency: Seconds to wait before every answer.
    """

    def __init__(self, url: str, *, latency: float = 0.0) -> None:
        self.host = httpx.URL(url).host
        self.latency = latency
        #: The latest requests received (bounded: a sandbox gateway runs for days).
        self.requests: deque[httpx.Request] = deque(maxlen=REQUEST_LOG_SIZE)
        self._faults: deque[Fault] = deque()

    def script(self, *faults: Fault) -> None:
        """Queue faults; each answers one coming request, then normal service resumes."""
        self._faults.extend(faults)

    def reset(self) -> None:
        """Forget received requests and scripted faults."""
        self.requests.clear()
        self._faults.clear()

    def trim(self) -> None:
        """Forget what only tests and lookups read (received requests, sent records), keeping the callbacks owed.

        For a long benchmark that measures the gateway's memory, not the emulators' bounded logs.
        """
        self.requests.clear()

    def json_bodies(self) -> list[Any]:
        """The decoded JSON bodies of the requests received so far."""
        return [msgspec.json.decode(r.content) for r in self.requests]

    async def handle(self, request: httpx.Request) -> httpx.Response:
        """Answer one request, applying the next scripted fault if any."""
        self.requests.append(request)
        fault = self._faults.popleft() if self._faults else None
        delay = self.latency + (fault.delay if fault else 0.0)
        if delay:
            await asyncio.sleep(delay)
        if fault is None:
            return self.accept(request)
        if fault.timeout:
            if fault.received:
                self.accept(request)
            raise httpx.ReadTimeout("emulated timeout", request=request)
        headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
        response = self.error(request, http_status=fault.http_status or 200, vendor_code=fault.vendor_code)
        response.headers.update(headers)
        return response

    def accept(self, request: httpx.Request) -> httpx.Response:
        """Answer a well-formed request the way the vendor does on success."""
        raise NotImplementedError

    def error(self, request: httpx.Request, *, http_status: int, vendor_code: str | None) -> httpx.Response:
        """Answer with the vendor's error shape for ``http_status`` / ``vendor_code``."""
        raise NotImplementedError

    def pending_callbacks(self, *, signature: str = "") -> list[EmulatedCallback]:
        """Take the callbacks the vendor owes for what it accepted (none for a vendor whose results are polled).

        Args:
            signature: The callback secret the gateway expects, for a vendor that signs with a shared secret.
        """
        return []

    @staticmethod
    def json_response(status: int, body: Any, request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            status, content=_JSON.encode(body), headers={"Content-Type": "application/json"}, request=request
        )


class EmulatorTransport(httpx.AsyncBaseTransport):
    """Routes each request to the emulator registered for its host, and any other host to ``fallback``.

    Args:
        emulators: The emulated products' emulators, each answering at its own host.
        fallback: Where requests to any other host go (real HTTP for the products that are not emulated);
            ``None``: other hosts cannot be reached, so a gateway emulating every vendor never reaches a real one.
    """

    def __init__(self, emulators: list[Emulator], fallback: httpx.AsyncBaseTransport | None = None) -> None:
        self._by_host = {e.host: e for e in emulators}
        self._fallback = fallback

    @property
    def reaches_network(self) -> bool:
        """Whether hosts without an emulator are reached over the network (some products are real)."""
        return self._fallback is not None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        emulator = self._by_host.get(request.url.host)
        if emulator is None:
            if self._fallback is None:
                raise httpx.ConnectError(f"no emulator for host {request.url.host}", request=request)
            return await self._fallback.handle_async_request(request)
        await request.aread()
        return await emulator.handle(request)

    async def aclose(self) -> None:
        if self._fallback is not None:
            await self._fallback.aclose()
