"""A real-HTTP NHN Cloud (KakaoTalk Bizmessage and SMS) in its own process, counting what it delivers.

The gateway's own emulators answer (NHN's checks, envelopes and the 10-minute idempotency key of Bizmessage),
behind an ASGI app that uvicorn serves on a loopback port. Besides NHN's routes it has:

- ``GET /_stats``: every recipient's deliveries (accepted sends, a repeat refused by the idempotency key not
  counted) with the time of the first, requests answered ``-1005`` (a repeat the key stopped), requests refused
  during an outage, and the most requests seen in any one-second window;
- ``POST /_outage/on`` and ``/_outage/off``: answer every send ``503`` (an NHN outage) or serve again;
- ``POST /_hang/on`` and ``/_hang/off``: take every send (it is delivered and counted) but answer it only after
  ``FAKE_VENDOR_HANG`` seconds (default 10.5, past the gateway's 10 s read timeout), or answer at once again.

Configured by ``FAKE_VENDOR_LATENCY`` (seconds before each answer, default 0.02), ``FAKE_VENDOR_HANG`` and
``FAKE_VENDOR_IGNORE_IDEMPOTENCY=1`` (drop the ``X-NC-API-IDEMPOTENCY-KEY`` header before the emulator sees it: a
vendor that does not honour the key, as NHN documents none for brand message or SMS sends). Serve it with
``uvicorn --factory fake_vendor:create_fake_vendor`` (as ``chaos.py`` does).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import httpx
import msgspec

from adapters.emulator import Emulator
from adapters.nhn.config import NhnKakaoConfig, NhnSmsConfig
from adapters.nhn.emulator_kakao import NhnKakaoEmulator
from adapters.nhn.emulator_sms import NhnSmsEmulator

__all__ = ("KAKAO", "SMS", "create_fake_vendor", "max_per_second")

_Scope = MutableMapping[str, Any]
_Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
_Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
#: The credentials the gateways under test are given (the emulators check them).
_SECRET = "chaos-secret"  # noqa: S105 - a loopback fake's, nothing real
KAKAO = NhnKakaoConfig(url="http://fake-vendor", appkey="chaos-kakao", secret=_SECRET, sender_key="k" * 40)
SMS = NhnSmsConfig(url="http://fake-vendor", appkey="chaos-sms", secret=_SECRET, send_no="0212345678")
_JSON = msgspec.json.Encoder()
_IDEMPOTENCY_HEADER = "x-nc-api-idempotency-key"


def max_per_second(times: list[float]) -> int:
    """The most of ``times`` (seconds) in any window of one second."""
    times = sorted(times)
    best = start = 0
    for end, at in enumerate(times):
        while at - times[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


class _FakeVendor:
    def __init__(self, latency: float, hang: float, ignore_idempotency: bool) -> None:
        self._kakao = NhnKakaoEmulator(KAKAO, latency=latency)
        self._sms = NhnSmsEmulator(SMS, latency=latency)
        self._outage = False
        self._hang = hang
        self._hanging = False
        self._ignore_idempotency = ignore_idempotency
        self._hung = 0
        self._deliveries: Counter[str] = Counter()
        self._first: dict[str, float] = {}
        self._times: list[float] = []
        self._deduplicated = 0
        self._refused = 0

    async def __call__(self, scope: _Scope, receive: _Receive, send: _Send) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        status, payload = await self._answer(scope, body)
        await send(
            {"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]}
        )
        await send({"type": "http.response.body", "body": payload})

    async def _answer(self, scope: _Scope, body: bytes) -> tuple[int, bytes]:
        path: str = scope["path"]
        if path == "/_stats":
            return 200, _JSON.encode(self._stats())
        if path.startswith("/_outage/"):
            self._outage = path.endswith("/on")
            return 200, b"{}"
        if path.startswith("/_hang/"):
            self._hanging = path.endswith("/on")
            return 200, b"{}"
        emulator: Emulator = self._kakao if "freestyle-messages" in path else self._sms
        headers = [
            (name.decode(), value.decode())
            for name, value in scope["headers"]
            if not (self._ignore_idempotency and name.decode().lower() == _IDEMPOTENCY_HEADER)
        ]
        request = httpx.Request(scope["method"], f"http://fake-vendor{path}", headers=headers, content=body)
        self._times.append(time.time())
        if self._outage:
            self._refused += 1
            response = emulator.error(request, http_status=503, vendor_code=None)
        else:
            response = await emulator.handle(request)
            self._count(response, body)
            if self._hanging:
                # Taken and delivered, but the answer comes after the caller's read timeout: an uncertain send.
                self._hung += 1
                await asyncio.sleep(self._hang)
        return response.status_code, response.content

    def _count(self, response: httpx.Response, body: bytes) -> None:
        answer = msgspec.json.decode(response.content)
        header = answer.get("header", {})
        if header.get("resultCode") == -1005:
            self._deduplicated += 1
            return
        if not header.get("isSuccessful"):
            return
        for recipient in msgspec.json.decode(body).get("recipientList", []):
            number = recipient["recipientNo"]
            self._deliveries[number] += 1
            self._first.setdefault(number, time.time())

    def _stats(self) -> dict[str, Any]:
        return {
            "deliveries": dict(self._deliveries),
            "first": self._first,
            "deduplicated": self._deduplicated,
            "refused": self._refused,
            "hung": self._hung,
            "requests": len(self._times),
            "max_per_second": max_per_second(self._times),
        }


def create_fake_vendor() -> _FakeVendor:
    """The ASGI app (a uvicorn factory)."""
    return _FakeVendor(
        float(os.environ.get("FAKE_VENDOR_LATENCY", "0.02")),
        float(os.environ.get("FAKE_VENDOR_HANG", "10.5")),
        os.environ.get("FAKE_VENDOR_IGNORE_IDEMPOTENCY") == "1",
    )
