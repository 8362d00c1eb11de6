from __future__ import annotations

import httpx
import msgspec
import pytest

from adapters.emulator import EmulatorTransport
from adapters.nhn.config import NhnKakaoConfig
from adapters.nhn.emulator_kakao import NhnKakaoEmulator
from adapters.nhn.images import images_path, upload_image
from adapters.spec import ImageUploadFailed
from tests.adapters.nhn.test_emulator_kakao import CONFIG, HEADERS, URL, body, header
from tests.gateway.images.samples import jpeg, png


async def test_an_uploaded_image_gets_an_nhn_url_that_a_send_may_use() -> None:
    emulator = NhnKakaoEmulator(CONFIG)
    async with httpx.AsyncClient(transport=EmulatorTransport([emulator])) as client:
        url = await upload_image(client, CONFIG, png(800, 400), filename="banner.png")
        assert emulator.images[url] == png(800, 400)
        sent = await client.post(
            URL, content=msgspec.json.encode(body(chatBubbleType="IMAGE", image={"imageUrl": url})), headers=HEADERS
        )
    assert header(sent) == (0, True)


async def test_a_send_with_an_image_nhn_did_not_issue_fails_8002() -> None:
    emulator = NhnKakaoEmulator(CONFIG)
    payload = body(chatBubbleType="IMAGE", image={"imageUrl": "https://cdn.wadiz.kr/a.jpg"})
    async with httpx.AsyncClient(transport=EmulatorTransport([emulator])) as client:
        sent = await client.post(URL, content=msgspec.json.encode(payload), headers=HEADERS)
    assert header(sent) == (-8002, False)


async def test_a_file_that_is_not_jpg_or_png_fails_the_upload_with_8001() -> None:
    emulator = NhnKakaoEmulator(CONFIG)
    async with httpx.AsyncClient(transport=EmulatorTransport([emulator])) as client:
        assert await upload_image(client, CONFIG, jpeg(800, 400), filename="a.jpg")
        with pytest.raises(ImageUploadFailed) as failed:
            await upload_image(client, CONFIG, b"GIF89a" + bytes(32), filename="a.gif")
    assert failed.value.code == -8001
    assert len(emulator.images) == 1


async def test_the_upload_needs_nhns_app_key_and_secret() -> None:
    emulator = NhnKakaoEmulator(CONFIG)
    wrong = NhnKakaoConfig(appkey=CONFIG.appkey, secret="wrong", sender_key=CONFIG.sender_key)
    async with httpx.AsyncClient(transport=EmulatorTransport([emulator])) as client:
        with pytest.raises(ImageUploadFailed) as failed:
            await upload_image(client, wrong, png(800, 400), filename="a.png")
        answer = await client.post(
            CONFIG.url + images_path(CONFIG.appkey),
            headers={"X-Secret-Key": CONFIG.secret},
            data={"imageType": "BANNER"},
            files={"image": ("a.png", png(800, 400))},
        )
    assert failed.value.code == -1001
    assert header(answer) == (-8011, False)
    assert emulator.images == {}
