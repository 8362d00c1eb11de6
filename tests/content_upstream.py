"""A fake Connected Content upstream: a real HTTP server on a loopback port, told how to answer.

uvicorn serves a small ASGI app in a background thread, so a slow answer there never blocks the test's loop.
By default it answers a JSON object echoing the query and numbering the call (``{"data": {"list": [...]}}``).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import msgspec
import uvicorn

__all__ = ("FakeUpstream", "Reply", "fake_upstream")

#: An endless answer stops after this many chunks, so a client that keeps reading still ends.
_ENDLESS_CHUNKS = 20_000


class Reply(msgspec.Struct, frozen=True):
    """How the upstream answers.

    Attributes:
        body: The body; ``None``: the default echo of the query and the call's number.
        status: The HTTP status.
        delay: Seconds to wait before answering.
        endless: Send ``body`` again and again without a Content-Length, until the client goes away.
    """

    body: bytes | None = None
    status: int = 200
    delay: float = 0.0
    endless: bool = False


class FakeUpstream:
    """The server's state: the query string of every call received, and the reply to give."""

    def __init__(self) -> None:
        self.url = ""
        self.calls: list[str] = []
        self.reply = Reply()
        #: Chunks of endless answers sent before the client went away (one a millisecond).
        self.chunks_sent = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        query = scope["query_string"].decode()
        self.calls.append(query)
        reply = self.reply
        if reply.delay:
            await asyncio.sleep(reply.delay)
        body = reply.body
        if body is None:
            body = msgspec.json.encode({"data": {"list": [{"query": query, "call": len(self.calls)}]}})
        headers = [(b"content-type", b"application/json")]
        if not reply.endless:
            headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": reply.status, "headers": headers})
        if not reply.endless:
            await send({"type": "http.response.body", "body": body})
            return
        await receive()  # the (empty) request body; the next message is the client going away
        gone = asyncio.create_task(receive())
        while not gone.done() and self.chunks_sent < _ENDLESS_CHUNKS:
            await send({"type": "http.response.body", "body": body, "more_body": True})
            self.chunks_sent += 1
            await asyncio.sleep(0.001)
        gone.cancel()
        await send({"type": "http.response.body", "body": b""})


@contextmanager
def fake_upstream() -> Iterator[FakeUpstream]:
    """Serve a :class:`FakeUpstream` on a free loopback port until the block ends."""
    upstream = FakeUpstream()
    config = uvicorn.Config(
        upstream,
        host="127.0.0.1",
        port=0,
        lifespan="off",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="fake-upstream", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the fake upstream did not start")
        time.sleep(0.02)
    upstream.url = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    try:
        yield upstream
    finally:
        server.should_exit = True
        thread.join(timeout=10)
