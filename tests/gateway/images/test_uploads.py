from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import respx

from adapters.emulator import EmulatorTransport
from adapters.nhn.emulator_kakao import NhnKakaoEmulator
from adapters.nhn.images import kakao_images
from gateway.images import ImageRefused
from gateway.images.uploads import ImageUploads
from gateway.store import Store, open_store
from tests.adapters.nhn.test_emulator_kakao import CONFIG
from tests.gateway.images.samples import png

PUBLIC = "93.184.216.34"
SOURCE = "https://cdn.wadiz.kr/banner.png"


async def resolver(host: str, port: int) -> list[str]:
    return [PUBLIC] if host == "cdn.wadiz.kr" else ["127.0.0.1"]


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    store = open_store(f"sqlite:///{tmp_path}/gateway.db")
    await store.open()
    yield store
    await store.close()


async def test_a_campaign_fetches_and_uploads_its_image_once(store: Store) -> None:
    emulator = NhnKakaoEmulator(CONFIG)
    clock = Clock()
    async with (
        httpx.AsyncClient(transport=EmulatorTransport([emulator])) as vendor,
        httpx.AsyncClient() as fetch,
        respx.mock(assert_all_called=False) as router,
    ):
        image = router.get(f"https://{PUBLIC}/banner.png").mock(return_value=httpx.Response(200, content=png(800, 400)))
        uploads = ImageUploads(store, {"nhn": kakao_images(CONFIG)}, vendor, fetch, resolver=resolver, clock=clock)
        urls = await asyncio.gather(*(uploads.vendor_image("nhn", SOURCE) for _ in range(5)))
        again = await uploads.vendor_image("nhn", SOURCE)

    assert set(urls) == {again}
    assert list(emulator.images) == [again]
    assert image.call_count == 1


async def test_a_stale_url_is_fetched_again_and_only_new_content_is_uploaded_again(store: Store) -> None:
    emulator = NhnKakaoEmulator(CONFIG)
    clock = Clock()
    async with (
        httpx.AsyncClient(transport=EmulatorTransport([emulator])) as vendor,
        httpx.AsyncClient() as fetch,
        respx.mock(assert_all_called=False) as router,
    ):
        image = router.get(f"https://{PUBLIC}/banner.png").mock(return_value=httpx.Response(200, content=png(800, 400)))
        uploads = ImageUploads(
            store, {"nhn": kakao_images(CONFIG)}, vendor, fetch, resolver=resolver, clock=clock, fresh_for=60.0
        )
        first = await uploads.vendor_image("nhn", SOURCE)
        clock.now += 61
        assert await uploads.vendor_image("nhn", SOURCE) == first
        assert image.call_count == 2
        image.mock(return_value=httpx.Response(200, content=png(800, 600)))
        clock.now += 61
        second = await uploads.vendor_image("nhn", SOURCE)

    assert second != first
    assert list(emulator.images) == [first, second]


@pytest.mark.parametrize(
    ("source", "body", "reason"),
    [
        (SOURCE, png(400, 300), "less than 500 px"),
        (SOURCE, b"GIF89a" + bytes(64), "not a PNG or JPEG"),
        ("https://internal.wadiz.kr/banner.png", png(800, 400), "not public"),
        ("http://cdn.wadiz.kr/banner.png", png(800, 400), "must be https"),
    ],
)
async def test_an_image_that_cannot_be_used_is_never_uploaded(
    store: Store, source: str, body: bytes, reason: str
) -> None:
    emulator = NhnKakaoEmulator(CONFIG)
    async with (
        httpx.AsyncClient(transport=EmulatorTransport([emulator])) as vendor,
        httpx.AsyncClient() as fetch,
        respx.mock(assert_all_called=False) as router,
    ):
        router.get(f"https://{PUBLIC}/banner.png").mock(return_value=httpx.Response(200, content=body))
        uploads = ImageUploads(store, {"nhn": kakao_images(CONFIG)}, vendor, fetch, resolver=resolver)
        with pytest.raises(ImageRefused, match=reason):
            await uploads.vendor_image("nhn", source)

    assert emulator.images == {}
    assert await store.recent_image_upload("nhn", source, since=0.0) is None


async def test_a_vendor_refusing_the_upload_is_a_refused_image(store: Store) -> None:
    emulator = NhnKakaoEmulator(CONFIG)
    async with (
        httpx.AsyncClient(transport=EmulatorTransport([emulator])) as vendor,
        httpx.AsyncClient() as fetch,
        respx.mock(assert_all_called=False) as router,
    ):
        router.get(f"https://{PUBLIC}/banner.png").mock(return_value=httpx.Response(200, content=png(800, 400)))
        wrong = kakao_images(CONFIG.__class__(appkey="other", secret=CONFIG.secret, sender_key=CONFIG.sender_key))
        uploads = ImageUploads(store, {"nhn": wrong}, vendor, fetch, resolver=resolver)
        with pytest.raises(ImageRefused, match="the vendor did not take the image"):
            await uploads.vendor_image("nhn", SOURCE)
