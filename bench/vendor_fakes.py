"""Real-HTTP vendor fakes for ``pipeline.py``, run in their own process: NHN kakao and SMS, Solapi, SendGrid, Braze.

One uvicorn server answers every vendor under its own path prefix (``/nhn_kakao``, ``/nhn_sms``, ``/solapi``,
``/sendgrid``): the prefix is stripped and the rest handed to that vendor's in-process emulator
(``adapters/<vendor>``), so every request the gateway's adapters build is checked and answered as the vendor
would, after ``--latency``. Once a second the receipts the emulators owe are posted back to the gateway's callback
routes as the vendors send them: NHN webhooks of up to 100 hooks with the static signature header, Solapi's report
array on the secret path token, SendGrid's event array signed with the ECDSA key this process generates (its public
key is printed at start for the gateway's ``GATEWAY_SENDGRID_WEBHOOK_PUBLIC_KEY``). ``/braze/users/track`` counts the
events reported to Braze; ``GET /stats`` tells the counts.

Usage (by ``pipeline.py``): ``python bench/vendor_fakes.py --port P --gateway URL --latency 0.05``; the first line
on stdout is a JSON object with the SendGrid public key, once the server is listening.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import httpx
import msgspec
import uvicorn

from adapters.emulator import EmulatedCallback, Emulator
from adapters.nhn.config import NhnKakaoConfig, NhnSmsConfig
from adapters.nhn.emulator_kakao import NhnKakaoEmulator
from adapters.nhn.emulator_sms import NhnSmsEmulator
from adapters.sendgrid.config import SendGridConfig
from adapters.sendgrid.emulator import SendGridEmulator
from adapters.solapi.config import SolapiConfig
from adapters.solapi.emulator import SolapiEmulator

__all__ = ("CREDENTIALS", "FakeVendors", "Stats", "main")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

#: The fake credentials, shared with ``pipeline.py``, which gives the gateway the same values.
CREDENTIALS = {
    "nhn_kakao": {"appkey": "kakao-app", "secret": "kakao-secret", "sender_key": "bench-sender-key"},
    "nhn_sms": {"appkey": "sms-app", "secret": "sms-secret", "send_no": "0212345678"},
    "solapi": {"api_key": "SOLAPIBENCHKEY01", "api_secret": "solapi-bench-secret-0123456789ab", "pf_id": "KA01PF"},
    "sendgrid": {"api_key": "SG.bench-key", "from_email": "no-reply@bench.example"},
    "nhn_signature": {"value": "bench-nhn-signature"},
    "solapi_token": {"value": "bench-solapi-token-0123456789"},
    "braze": {"api_key": "bench-braze-key"},
}
_JSON = msgspec.json.Encoder()
_EVENTS = msgspec.json.Decoder(dict[str, Any])


class Stats(msgspec.Struct):
    """What the fakes saw: vendor requests, receipts posted back (and refused), events reported to Braze."""

    vendor_requests: int = 0
    callbacks: int = 0
    callback_failures: int = 0
    braze_calls: int = 0
    braze_events: int = 0


def _emulators(base: str, latency: float) -> dict[str, Emulator]:
    kakao, sms, solapi, sendgrid = (CREDENTIALS[name] for name in ("nhn_kakao", "nhn_sms", "solapi", "sendgrid"))
    return {
        "nhn_kakao": NhnKakaoEmulator(
            NhnKakaoConfig(url=base, appkey=kakao["appkey"], secret=kakao["secret"], sender_key=kakao["sender_key"]),
            latency=latency,
        ),
        "nhn_sms": NhnSmsEmulator(
            NhnSmsConfig(url=base, appkey=sms["appkey"], secret=sms["secret"], send_no=sms["send_no"]),
            latency=latency,
        ),
        "solapi": SolapiEmulator(
            SolapiConfig(
                url=base,
                api_key=solapi["api_key"],
                api_secret=solapi["api_secret"],
                pf_id=solapi["pf_id"],
                send_no=sms["send_no"],
            ),
            latency=latency,
        ),
        "sendgrid": SendGridEmulator(
            SendGridConfig(url=base, api_key=sendgrid["api_key"], from_email=sendgrid["from_email"]), latency=latency
        ),
    }


class FakeVendors:
    """The ASGI app: vendor emulators under path prefixes, the Braze fake, and the callback poster.

    Args:
        gateway: The gateway's base URL, where receipts are posted.
        latency: Seconds every vendor answer waits.
        interval: Seconds between two rounds of receipts.
    """

    def __init__(self, gateway: str, latency: float, interval: float) -> None:
        self.stats = Stats()
        self._gateway = gateway.rstrip("/")
        self._emulators = _emulators("http://vendor.invalid", latency)
        self._interval = interval
        self._poster: asyncio.Task[None] | None = None

    @property
    def sendgrid_public_key(self) -> str:
        emulator = self._emulators["sendgrid"]
        assert isinstance(emulator, SendGridEmulator)
        return emulator.public_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        status, headers, content = await self._answer(scope, body)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._poster = asyncio.create_task(self._post_receipts())
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._poster is not None:
                    self._poster.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await self._poster
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _answer(self, scope: Scope, body: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        path: str = scope["path"]
        if path == "/stats":
            return 200, [(b"content-type", b"application/json")], _JSON.encode(self.stats)
        if path == "/healthz":
            return 200, [], b"ok"
        if path == "/braze/users/track":
            events = _EVENTS.decode(body).get("events", [])
            self.stats.braze_calls += 1
            self.stats.braze_events += len(events)
            answer = {"message": "success", "events_processed": len(events)}
            return 201, [(b"content-type", b"application/json")], _JSON.encode(answer)
        product, _, rest = path.removeprefix("/").partition("/")
        emulator = self._emulators.get(product)
        if emulator is None:
            return 404, [], b""
        self.stats.vendor_requests += 1
        query = scope.get("query_string", b"").decode()
        request = httpx.Request(
            scope["method"],
            f"http://vendor.invalid/{rest}" + (f"?{query}" if query else ""),
            headers=[(name.decode("latin-1"), value.decode("latin-1")) for name, value in scope["headers"]],
            content=body,
        )
        response = await emulator.handle(request)
        headers = [
            (name.encode("latin-1"), value.encode("latin-1"))
            for name, value in response.headers.items()
            if name.lower() not in ("content-length", "transfer-encoding")
        ]
        return response.status_code, headers, response.content

    def _pending(self) -> list[EmulatedCallback]:
        signature = CREDENTIALS["nhn_signature"]["value"]
        calls: list[EmulatedCallback] = []
        for emulator in self._emulators.values():
            if isinstance(emulator, NhnKakaoEmulator | NhnSmsEmulator):
                calls += emulator.pending_callbacks(signature=signature)
            elif isinstance(emulator, SolapiEmulator | SendGridEmulator):
                calls += emulator.pending_callbacks()
        return calls

    async def _post_receipts(self) -> None:
        """Post what the emulators owe every ``interval``; a refused or failed call is counted, not retried."""
        token = CREDENTIALS["solapi_token"]["value"]
        async with httpx.AsyncClient(timeout=httpx.Timeout(30.0)) as client:
            while True:
                await asyncio.sleep(self._interval)
                for call in self._pending():
                    path = f"{call.path}/{token}" if call.path == "solapi" else call.path
                    try:
                        answer = await client.post(
                            f"{self._gateway}/v1/callbacks/{path}", headers=call.headers, content=call.body
                        )
                        ok = answer.status_code == 200
                    except httpx.HTTPError:
                        ok = False
                    self.stats.callbacks += 1
                    self.stats.callback_failures += not ok


def main(argv: list[str] | None = None) -> int:
    """Serve the fakes on loopback until interrupted."""
    parser = argparse.ArgumentParser(description="Real-HTTP vendor and Braze fakes for bench/pipeline.py.")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--gateway", required=True, help="the gateway's base URL, for the receipts")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds before every vendor answer")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between rounds of receipts")
    args = parser.parse_args(argv)
    app = FakeVendors(args.gateway, args.latency, args.interval)
    print(_JSON.encode({"sendgrid_public_key": app.sendgrid_public_key}).decode(), flush=True)
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "auto"
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False, loop=loop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
