"""The contract every vendor adapter fulfils.

An adapter is a pure request builder and a pure response classifier; :func:`send` is the only place that
talks HTTP. Adapters import nothing from the web layer.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar, Protocol

import httpx
import msgspec

from adapters.contract import Channel, OutboundMessage, Outcome, Retryable, Uncertain

__all__ = (
    "HTTP_LIMITS",
    "KST",
    "REDACTED",
    "Adapter",
    "SendResult",
    "VendorRequest",
    "VendorResponse",
    "call",
    "header_value",
    "parse_korean_time",
    "parse_retry_after",
    "send",
)

#: The connection pool of every transport that reaches vendors over the network (one shared client).
HTTP_LIMITS = httpx.Limits(max_connections=256, max_keepalive_connections=128)

REDACTED = "[redacted]"
#: Korean vendors (NHN, SENS) write local Korean time without an offset.
KST = timezone(timedelta(hours=9))
_JSON = msgspec.json.Encoder()
#: HTTP statuses every vendor treats as "try again later".
RETRYABLE_HTTP = frozenset({408, 425, 429, 500, 502, 503, 504})


class VendorRequest(msgspec.Struct, frozen=True, kw_only=True):
    """An HTTP request to a vendor, fully built.

    ``secret_headers`` names the headers that carry credentials, so the stored copy can redact them.
    """

    method: str
    url: str
    headers: dict[str, str]
    json: dict[str, Any]
    secret_headers: tuple[str, ...] = ()

    def redacted(self) -> dict[str, Any]:
        """Return the request as stored for support staff: secrets replaced, body as JSON."""
        secret = {name.lower() for name in self.secret_headers}
        headers = {k: (REDACTED if k.lower() in secret else v) for k, v in self.headers.items()}
        return {"method": self.method, "url": self.url, "headers": headers, "body": self.json}


class VendorResponse(msgspec.Struct, frozen=True):
    """What came back from the vendor."""

    status: int
    headers: Mapping[str, str]
    body: bytes


class SendResult(msgspec.Struct, frozen=True):
    """The outcome of one :func:`send` with what the attempt log needs."""

    outcome: Outcome
    http_status: int | None
    duration_ms: float


class Adapter(Protocol):
    """A vendor's format for one channel."""

    vendor: ClassVar[str]
    channel: ClassVar[Channel]
    #: Whether the vendor documents that a repeated idempotency key (``send_key``) is not sent twice: only then
    #: may a send whose outcome is unknown (its process died mid-call) be made again.
    idempotent: ClassVar[bool]

    def build(self, message: OutboundMessage, message_id: str, *, send_key: str | None = None) -> VendorRequest:
        """Build the vendor request.

        Args:
            message: The normalised message.
            message_id: Our id, put in the vendor's correlation field.
            send_key: The same for every attempt of one send and new for each replay (defaults to
                ``message_id``): the vendor's idempotency key, where it has one.
        """
        ...

    def classify(self, response: VendorResponse) -> Outcome:
        """Classify the vendor's answer."""
        ...


def header_value(headers: Mapping[str, str], name: str) -> str | None:
    """Look a header up case-insensitively (a plain dict is not an ``httpx.Headers``)."""
    value = headers.get(name)
    if value is not None:
        return value
    wanted = name.lower()
    return next((v for k, v in headers.items() if k.lower() == wanted), None)


def parse_korean_time(value: str | None) -> float | None:
    """Parse a Korean vendor's time (``2024-04-29T20:58:04``, ``2023-09-14 10:15:05.0``, with or without an offset).

    Naive values are Korean time. An unreadable value gives ``None``: a bad date is no reason to lose a receipt.
    """
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value.strip().replace(" ", "T", 1))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=KST)
    return when.timestamp()


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Parse a ``Retry-After`` header (seconds or an HTTP date) into seconds from now."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


async def send(client: httpx.AsyncClient, adapter: Adapter, request: VendorRequest) -> SendResult:
    """Send ``request`` and classify the answer.

    A failure before anything was sent (connecting, waiting for a pooled connection) is retryable; one after the
    request may have been sent (reading, writing, a broken answer) is :class:`Uncertain`: the vendor may have it
    (the aiohttp transport reports the phase, ``adapters/transport.py``).
    """
    started = time.perf_counter()
    answer = await call(client, request)
    outcome = answer if not isinstance(answer, VendorResponse) else adapter.classify(answer)
    status = answer.status if isinstance(answer, VendorResponse) else None
    return SendResult(outcome, status, _ms_since(started))


async def call(client: httpx.AsyncClient, request: VendorRequest) -> VendorResponse | Retryable | Uncertain:
    """Make ``request``: the vendor's answer, or the outcome of a call that got none (see :func:`send`)."""
    try:
        response = await client.request(
            request.method, request.url, headers=request.headers, content=_JSON.encode(request.json)
        )
    except (httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
        return Retryable("timeout", type(exc).__name__)
    except httpx.TimeoutException as exc:
        return Uncertain("timeout", f"{type(exc).__name__} after sending")
    except (httpx.ConnectError, httpx.UnsupportedProtocol, httpx.ProxyError) as exc:
        return Retryable("transport", type(exc).__name__)
    except httpx.TransportError as exc:
        return Uncertain("transport", f"{type(exc).__name__} after sending")
    return VendorResponse(response.status_code, response.headers, response.content)


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)
