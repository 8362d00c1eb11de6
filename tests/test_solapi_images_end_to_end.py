"""A kakao image from any https URL through Solapi: ingest -> safe fetch over TLS -> Solapi storage upload (emulated)
-> a BMS_FREE IMAGE bubble carrying the uploaded ``fileId``. The dispatcher is the app's but for its image fetch,
which may reach a loopback TLS server (``FetchPolicy.allow_address``) that stands for a CDN."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from gateway.app import create_app, http_client
from gateway.dispatch.dispatcher import Dispatcher
from gateway.images.uploads import ImageUploads
from gateway.normalise.inbound import policy_from_settings
from tests.conftest import SEED_BODY, Clock, ingest_headers, make_settings, staff_headers
from tests.gateway.images.samples import png
from tests.gateway.images.test_fetch_tls import LOOPBACK_ONLY, tls_loopback, to_loopback

#: What the stand-in CDN serves, by path.
IMAGES = {"/banner.png": png(800, 400), "/narrow.png": png(300, 200)}


class Cdn:
    """A TLS server for ``img.test`` on loopback that counts the fetches of each path."""

    def __init__(self) -> None:
        self.fetched: list[str] = []
        self.port = 0

    def url(self, path: str) -> str:
        return f"https://img.test:{self.port}{path}"

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await reader.readuntil(b"\r\n\r\n")
        path = request.split(b" ")[1].decode()
        self.fetched.append(path)
        body = IMAGES.get(path, b"")
        status = b"200 OK" if body else b"404 Not Found"
        writer.write(b"HTTP/1.1 %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % (status, len(body)) + body)
        await writer.drain()
        writer.close()


@pytest.fixture
async def cdn(tmp_path: Path) -> AsyncIterator[tuple[Cdn, ssl.SSLContext]]:
    cdn = Cdn()
    async with tls_loopback(tmp_path, cdn.serve) as (cdn.port, trust):
        yield cdn, trust


class Gateway:
    """The app with kakao through Solapi, and a dispatcher whose image fetch trusts the stand-in CDN."""

    def __init__(self, app: Litestar, client: AsyncTestClient[Litestar], dispatcher: Dispatcher, clock: Clock) -> None:
        self.app = app
        self.client = client
        self.dispatcher = dispatcher
        self.clock = clock

    async def post(self, **changes: str) -> httpx.Response:
        return await self.client.post("/v1/braze/messages", json=SEED_BODY | changes, headers=ingest_headers())

    async def detail(self, message_id: str) -> dict[str, Any]:
        response = await self.client.get(f"/v1/admin/messages/{message_id}", headers=staff_headers())
        assert response.status_code == 200, response.text
        return dict(response.json())

    @property
    def storage(self) -> dict[str, bytes]:
        files: dict[str, bytes] = self.app.state.runtime.emulators["solapi"].files
        return files


@pytest.fixture
async def gateway(tmp_path: Path, cdn: tuple[Cdn, ssl.SSLContext]) -> AsyncIterator[Gateway]:
    settings = make_settings(tmp_path, GATEWAY_KAKAO_VENDOR="solapi")
    clock = Clock()
    app = create_app(settings, clock=clock, start_dispatcher=False)
    async with (
        AsyncTestClient(app) as client,
        http_client(app.state.runtime.transport) as vendor,
        httpx.AsyncClient(verify=cdn[1]) as fetch,
    ):
        store, runtime = app.state.store, app.state.runtime
        images = ImageUploads(
            store, runtime.kakao_images, vendor, fetch, resolver=to_loopback, policy=LOOPBACK_ONLY, clock=clock
        )
        dispatcher = Dispatcher(
            store, runtime.adapters, vendor, settings, policy_from_settings(settings), clock=clock, images=images
        )
        yield Gateway(app, client, dispatcher, clock)


def bms(detail: dict[str, Any]) -> dict[str, Any]:
    options: dict[str, Any] = detail["vendorRequest"]["body"]["messages"][0]["kakaoOptions"]["bms"]
    return options


async def test_a_campaigns_image_is_uploaded_to_solapi_once_and_sent_as_an_image_bubble(
    gateway: Gateway, cdn: tuple[Cdn, ssl.SSLContext]
) -> None:
    source = cdn[0].url("/banner.png")
    ids = []
    for user in ("u-1", "u-2", "u-3"):
        response = await gateway.post(userId=user, imageUrl=source)
        assert response.status_code == 202, response.text
        ids.append(response.json()["messageId"])

    assert await gateway.dispatcher.run_once() == 3

    [file_id] = gateway.storage
    assert gateway.storage[file_id] == IMAGES["/banner.png"]
    assert cdn[0].fetched == ["/banner.png"]
    for message_id in ids:
        detail = await gateway.detail(message_id)
        assert detail["message"]["status"] == "accepted"
        assert detail["message"]["vendor"] == "solapi"
        assert bms(detail)["chatBubbleType"] == "IMAGE"
        assert bms(detail)["imageId"] == file_id
        assert bms(detail)["imageLink"] == SEED_BODY["buttonLinkMobile"]
        assert not [e for e in detail["timeline"] if "image left out" in (e["reason"] or "")]


async def test_an_image_against_the_bms_rule_is_left_out_with_a_note_and_the_text_still_goes(
    gateway: Gateway, cdn: tuple[Cdn, ssl.SSLContext]
) -> None:
    response = await gateway.post(imageUrl=cdn[0].url("/narrow.png"))
    message_id = response.json()["messageId"]

    assert await gateway.dispatcher.run_once() == 1

    detail = await gateway.detail(message_id)
    assert detail["message"]["status"] == "accepted"
    assert bms(detail)["chatBubbleType"] == "TEXT"
    assert "imageId" not in bms(detail)
    notes = [e["reason"] for e in detail["timeline"] if "image left out" in (e["reason"] or "")]
    assert notes == ["image left out: the image is 300 px wide, less than 500 px"]
    assert gateway.storage == {}


async def test_a_plain_http_image_is_refused_at_ingest(gateway: Gateway) -> None:
    response = await gateway.post(imageUrl="http://img.test/banner.png")

    assert response.status_code == 422
    assert "imageUrl" in response.text


@pytest.mark.parametrize("count", [1, 3], ids=["alone", "in-a-batch"])
async def test_an_uploaded_image_solapi_no_longer_has_is_uploaded_again_and_the_messages_sent_with_it(
    gateway: Gateway, cdn: tuple[Cdn, ssl.SSLContext], count: int
) -> None:
    source = cdn[0].url("/banner.png")
    await gateway.post(userId="u-0", imageUrl=source)
    assert await gateway.dispatcher.run_once() == 1
    [first_file] = gateway.storage
    gateway.storage.clear()  # Solapi's storage lost the file the gateway has cached

    ids = [(await gateway.post(userId=f"u-{n}", imageUrl=source)).json()["messageId"] for n in range(1, count + 1)]
    assert await gateway.dispatcher.run_once() == count
    refused = [await gateway.detail(message_id) for message_id in ids]
    gateway.clock.advance(60)
    assert await gateway.dispatcher.run_once() == count

    [second_file] = gateway.storage
    assert second_file != first_file
    for before, message_id in zip(refused, ids, strict=True):
        assert before["message"]["status"] == "retrying"
        assert "no longer has the uploaded image; uploading it again" in before["timeline"][-1]["reason"]
        detail = await gateway.detail(message_id)
        assert detail["message"]["status"] == "accepted"
        assert bms(detail)["imageId"] == second_file
        assert [attempt["vendorCode"] for attempt in detail["attempts"]] == ["1034", "2000"]
    requests = gateway.app.state.runtime.emulators["solapi"].json_bodies()
    sends = [body for body in requests if "messages" in body]
    assert [len(body["messages"]) for body in sends][-2:] == [count, count]  # the batch stayed a batch
