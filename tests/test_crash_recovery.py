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
import psycopg
import pytest

from gateway.models import Status
from gateway.store import open_store
from gateway.store.sqlite import SqliteStore
from tests.conftest import INGEST_TOKEN, LMS_BODY

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

    def __init__(self, database_url: str, *, dispatcher: bool, **settings: str) -> None:
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")} | {
            "GATEWAY_DATABASE_URL": database_url,
            "GATEWAY_INGEST_TOKENS": INGEST_TOKEN,
            "GATEWAY_PORT": str(self.port),
            "GATEWAY_DISPATCHER": "on" if dispatcher else "off",
            "GATEWAY_LOG_LEVEL": "WARNING",
            **settings,
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
    servers.append(Server(f"sqlite:///{db}", dispatcher=False))
    accepted = await post_until_killed(servers[0], total=600, kill_after=200)
    assert len(accepted) >= 200

    store = SqliteStore(str(db))
    await store.open()
    try:
        missing = [message_id for message_id in accepted if await store.get(message_id) is None]
        assert missing == []

        servers.append(Server(f"sqlite:///{db}", dispatcher=True))  # the restarted gateway delivers every one of them
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


def most_in_one_second(times: list[float]) -> int:
    times = sorted(times)
    best = start = 0
    for end, at in enumerate(times):
        while at - times[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


async def test_two_processes_on_postgresql_share_the_limit_and_send_a_killed_one_s_messages(
    postgres_url: str, servers: list[Server]
) -> None:
    """Two ``serve`` processes at ``GATEWAY_NHN_RATE=20``: one is killed while both hold messages waiting for the
    limit; the other sends them once their leases run out, and the two never started more than 20/s plus the
    burst."""
    servers.extend(Server(postgres_url, dispatcher=True, GATEWAY_NHN_RATE="20") for _ in range(2))
    accepted: list[str] = []
    async with httpx.AsyncClient(timeout=5) as client:
        for n in range(120):  # six seconds' worth at the shared limit, posted at once
            response = await client.post(
                f"{servers[n % 2].url}/v1/braze/messages",
                json=LMS_BODY | {"dispatchId": f"d-{n}"},
                headers={"Authorization": f"Bearer {INGEST_TOKEN}"},
            )
            assert response.status_code == 202
            accepted.append(response.json()["messageId"])
    await asyncio.sleep(1.5)
    servers[0].kill()
    killed = time.monotonic()

    store = open_store(postgres_url)
    await store.open()
    try:
        pending = set(accepted)
        uncertain = 0
        while pending and time.monotonic() < killed + 60:
            for message_id in list(pending):
                detail = await store.get(message_id)
                assert detail is not None
                if detail.record.status in (Status.ACCEPTED, Status.DELIVERED):
                    pending.discard(message_id)
                elif detail.record.status is Status.UNKNOWN and detail.record.uncertain:
                    uncertain += 1  # cut off mid-call at a vendor without idempotency keys: not resent
                    pending.discard(message_id)
            await asyncio.sleep(0.5)
        assert not pending, f"{len(pending)} messages not sent within 60 s of the kill"
        assert time.monotonic() - killed > 15  # the killed process held some: they waited for its leases
        assert uncertain <= 2
    finally:
        await store.close()
    async with await psycopg.AsyncConnection.connect(postgres_url) as conn:
        started = [row[0] for row in await (await conn.execute("SELECT started_at FROM attempts")).fetchall()]
    assert len(started) >= len(accepted) - uncertain
    assert most_in_one_second(started) <= 22  # 20/s plus a tenth of a second's burst
