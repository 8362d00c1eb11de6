"""A real gateway on a loopback port, for the browser test and the console screenshots.

uvicorn serves the app in a background thread with the dispatcher running and sandboxed vendors. Its clock runs
from noon KST, so advertising kakao is never held for quiet hours, whatever the time of the run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import msgspec
import uvicorn
from litestar import Litestar

from adapters.emulator import Fault
from gateway.app import create_app
from tests.conftest import INGEST_TOKEN, NOON_KST, OPERATOR_TOKEN, SEED_BODY, make_settings

__all__ = ("LiveGateway", "live_gateway")


class LiveGateway(msgspec.Struct):
    """A running gateway: its base URL and the app (for its emulators)."""

    url: str
    app: Litestar

    def post(self, body: dict[str, Any]) -> str:
        """Ingest ``body``; return the message id."""
        response = httpx.post(
            f"{self.url}/v1/braze/messages", json=body, headers={"Authorization": f"Bearer {INGEST_TOKEN}"}
        )
        response.raise_for_status()
        return str(response.json()["messageId"])

    def detail(self, message_id: str) -> dict[str, Any]:
        """The admin API's view of a message, as an operator sees it."""
        response = httpx.get(
            f"{self.url}/v1/admin/messages/{message_id}", headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"}
        )
        response.raise_for_status()
        return dict(response.json())

    def wait_for(self, message_id: str, *statuses: str, timeout: float = 10.0) -> dict[str, Any]:
        """Poll until the message is in one of ``statuses``; its detail then."""
        deadline = time.monotonic() + timeout
        while True:
            detail = self.detail(message_id)
            if detail["message"]["status"] in statuses or time.monotonic() > deadline:
                assert detail["message"]["status"] in statuses, detail["timeline"]
                return detail
            time.sleep(0.05)

    def send(self, **changes: str) -> str:
        """Ingest the seed kakao body with ``changes``; wait until it is accepted (or delivered, by the receipt)."""
        message_id = self.post(SEED_BODY | changes)
        self.wait_for(message_id, "accepted", "delivered")
        return message_id

    def send_dead(self, **changes: str) -> str:
        """Ingest a kakao message without fallback that NHN rejects for good, and wait until it is dead."""
        self.app.state.runtime.emulators["nhn_kakao"].script(Fault(vendor_code="-3006"))
        message_id = self.post(SEED_BODY | {"fallback": "none"} | changes)
        self.wait_for(message_id, "dead")
        return message_id


@contextmanager
def live_gateway(directory: Path, **env: str) -> Iterator[LiveGateway]:
    """Serve a sandboxed gateway on a free loopback port until the block ends."""
    started = time.time()
    app = create_app(
        make_settings(directory, **env), clock=lambda: NOON_KST + time.time() - started, start_dispatcher=True
    )
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, access_log=False))
    thread = threading.Thread(target=server.run, name="live-gateway", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the gateway did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield LiveGateway(f"http://127.0.0.1:{port}", app)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
