"""``kill -9`` of a real gateway process under load loses no accepted message (docs/ARCHITECTURE.md, "Quality bars")."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gateway.models import Status
from gateway.store.sqlite import SqliteStore
from tests.conftest import INGEST_TOKEN

EMAIL_BODY = {
    "channel": "email",
    "userId": "u-crash",
    "email": "jane@example.com",
    "subject": "추천 프로젝트",
    "content": "<p>지금 확인해 보세요</p>",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """``gateway serve`` in a child process."""

    def __init__(self, db: Path, *, dispatcher: bool) -> None:
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")} | {
            "GATEWAY_DATABASE_URL": f"sqlite:///{db}",
            "GATEWAY_INGEST_TOKENS": INGEST_TOKEN,
            "GATEWAY_PORT": str(self.port),
            "GATEWAY_DISPATCHER": "on" if dispatcher else "off",
            "GATEWAY_LOG_LEVEL": "WARNING",
        }
        self.process = subprocess.Popen([sys.executable, "-m", "gateway.cli", "serve"], env=env)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        self.process.kill()
        raise RuntimeError("the gateway did not start")

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for server in started:
        if server.process.poll() is None:
            server.kill()


async def post_until_killed(server: Server, total: int, kill_after: int) -> list[str]:
    """Post ``total`` messages 32 at a time; kill the server after ``kill_after`` answers; return the 202 ids."""
    accepted: list[str] = []
    answered = 0
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(total):
        queue.put_nowait(n)

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal answered
        while not queue.empty():
            n = queue.get_nowait()
            try:
                response = await client.post(
                    f"{server.url}/v1/braze/messages",
                    json=EMAIL_BODY | {"dispatchId": f"d-{n}"},
                    headers={"Authorization": f"Bearer {INGEST_TOKEN}"},
                )
            except httpx.TransportError:
                continue
            answered += 1
            if response.status_code == 202:
                accepted.append(response.json()["messageId"])
            if answered == kill_after:
                server.kill()

    async with httpx.AsyncClient(timeout=5) as client:
        await asyncio.gather(*(worker(client) for _ in range(32)))
    return accepted


async def test_kill_9_under_load_loses_no_accepted_message(tmp_path: Path, servers: list[Server]) -> None:
    db = tmp_path / "gateway.db"
    servers.append(Server(db, dispatcher=False))
    accepted = await post_until_killed(servers[0], total=600, kill_after=200)
    assert len(accepted) >= 200

    store = SqliteStore(str(db))
    await store.open()
    try:
        missing = [message_id for message_id in accepted if await store.get(message_id) is None]
        assert missing == []

        servers.append(Server(db, dispatcher=True))  # the restarted gateway delivers every one of them
        deadline = time.monotonic() + 60
        pending = set(accepted)
        while pending and time.monotonic() < deadline:
            for message_id in list(pending):
                detail = await store.get(message_id)
                if detail is not None and detail.record.status in (Status.ACCEPTED, Status.DELIVERED):
                    pending.discard(message_id)
            await asyncio.sleep(0.2)
        assert not pending
    finally:
        await store.close()
