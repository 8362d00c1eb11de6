"""The vendor transport over real loopback sockets: answers pass through, errors say whether the request went out."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
import msgspec
import pytest

from adapters.base import send
from adapters.contract import Retryable, Uncertain
from adapters.nhn.sms import NhnSmsAdapter
from adapters.transport import VendorTransport, network_transport
from gateway.settings import ConfigError, load_settings
from tests.adapters.nhn.test_sms import CONFIG, lms

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        (int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")), 0
    )
    return head + await reader.readexactly(length)


@asynccontextmanager
async def loopback(handler: Handler) -> AsyncIterator[str]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()


async def answers(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    request = await read_request(reader)
    body = b'{"seen": %d}' % len(request)
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    await writer.drain()
    writer.close()


async def hangs_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request(reader)
    writer.close()


async def never_answers(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request(reader)
    await asyncio.sleep(5)
    writer.close()


def _client(timeout: float = 5.0) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=VendorTransport(), timeout=httpx.Timeout(timeout))


async def test_an_answer_comes_back_through_httpx() -> None:
    async with loopback(answers) as url, _client() as client:
        response = await client.post(f"{url}/send", content=b'{"a": 1}', headers={"X-Key": "k"})

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json()["seen"] > len(b'{"a": 1}')


async def test_a_refused_connection_is_a_connect_error_so_nothing_was_sent() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there

    async with _client() as client:
        with pytest.raises(httpx.ConnectError):
            await client.post(f"http://127.0.0.1:{port}/send", content=b"{}")


async def test_a_vendor_hanging_up_after_the_request_is_a_read_error_not_a_connect_timeout() -> None:
    # httpx-aiohttp alone reports this as ConnectTimeout, which would claim the request never went out.
    async with loopback(hangs_up) as url, _client() as client:
        with pytest.raises(httpx.ReadError):
            await client.post(f"{url}/send", content=b"{}")


async def test_a_vendor_that_never_answers_is_a_read_timeout() -> None:
    async with loopback(never_answers) as url, _client(timeout=0.3) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.post(f"{url}/send", content=b"{}")


async def test_a_send_through_it_is_classified_and_a_hang_up_after_the_request_is_uncertain() -> None:
    async with loopback(hangs_up) as url, _client() as client:
        adapter = NhnSmsAdapter(msgspec.structs.replace(CONFIG, url=url))
        result = await send(client, adapter, adapter.build(lms(), "m-1"))

    assert result.outcome == Uncertain("transport", "ReadError after sending")
    assert result.http_status is None


def test_the_transport_is_aiohttp_unless_the_setting_asks_for_httpx() -> None:
    assert load_settings({}).http_transport == "aiohttp"
    assert load_settings({"GATEWAY_HTTP_TRANSPORT": "httpx"}).http_transport == "httpx"
    assert isinstance(network_transport("aiohttp"), VendorTransport)
    assert isinstance(network_transport("httpx"), httpx.AsyncHTTPTransport)
    with pytest.raises(ConfigError, match="GATEWAY_HTTP_TRANSPORT"):
        load_settings({"GATEWAY_HTTP_TRANSPORT": "curl"})


async def test_a_failure_to_connect_sent_nothing_and_is_retryable() -> None:
    adapter = NhnSmsAdapter(msgspec.structs.replace(CONFIG, url="http://127.0.0.1:9"))
    async with _client() as client:
        result = await send(client, adapter, adapter.build(lms(), "m-1"))

    assert isinstance(result.outcome, Retryable)
    assert result.outcome.code == "transport"
