from __future__ import annotations

import base64
import time

import httpx
import msgspec
import pytest

from adapters.base import VendorResponse
from adapters.emulator import EmulatorTransport
from adapters.solapi.adapter import SolapiKakaoAdapter, authorization, iso_date
from adapters.solapi.config import SolapiConfig
from adapters.solapi.emulator import SolapiEmulator
from adapters.solapi.images import (
    IMAGE_RULE,
    kakao_images,
    parse_upload,
    upload_image,
    upload_request,
)
from adapters.spec import ImageUploadFailed
from gateway.images import check_image
from tests.adapters.solapi.test_adapter import kakao
from tests.adapters.solapi.test_emulator import CONFIG, NOW, bms_entry, post
from tests.gateway.images.samples import jpeg, png

DATE = "2025-06-15T15:06:40Z"
SALT = "jqsba2jxjnrjor"


def answer(status: int, body: object) -> VendorResponse:
    return VendorResponse(status, {}, msgspec.json.encode(body))


def test_the_upload_is_a_signed_json_post_of_the_base64_file_as_type_bms() -> None:
    request = upload_request(CONFIG, png(800, 400), name="0123456789abcdef.png", date=DATE, salt=SALT)

    assert request.method == "POST"
    assert request.url == "https://api.solapi.com/storage/v1/files"
    assert request.headers == {
        "Authorization": authorization(CONFIG.api_key, CONFIG.api_secret, DATE, SALT),
        "Content-Type": "application/json",
    }
    assert request.secret_headers == ("Authorization",)
    assert request.json == {
        "file": base64.b64encode(png(800, 400)).decode("ascii"),
        "type": "BMS",
        "name": "0123456789abcdef.png",
    }


def test_the_upload_goes_to_the_configured_base_url() -> None:
    config = SolapiConfig(url="https://solapi.staging.test/", api_key="k", api_secret="s", pf_id="", send_no="0")

    assert upload_request(config, b"", name="a.png", date=DATE, salt=SALT).url == (
        "https://solapi.staging.test/storage/v1/files"
    )


def test_a_successful_answer_gives_its_file_id() -> None:
    body = {"fileId": "ST01FZ20250615150640ABCDEFGHIJKL", "type": "BMS", "name": "a.png", "url": "https://s3/x"}

    assert parse_upload(answer(200, body)) == "ST01FZ20250615150640ABCDEFGHIJKL"


@pytest.mark.parametrize(
    ("response", "code", "detail"),
    [
        (answer(400, {"errorCode": "ValidationError", "errorMessage": "bad file"}), "ValidationError", "bad file"),
        (answer(403, {"errorCode": "SignatureDoesNotMatch", "errorMessage": "x"}), "SignatureDoesNotMatch", "x"),
        (VendorResponse(502, {}, b"<html>bad gateway</html>"), "http_502", "<html>bad gateway</html>"),
        (answer(200, {"type": "BMS"}), None, "unreadable answer (HTTP 200)"),
        (VendorResponse(200, {}, b"not json"), None, "unreadable answer (HTTP 200)"),
    ],
)
def test_a_refusal_or_an_answer_without_a_file_id_fails_the_upload(
    response: VendorResponse, code: str | None, detail: str
) -> None:
    with pytest.raises(ImageUploadFailed) as failed:
        parse_upload(response)

    assert (failed.value.code, failed.value.detail) == (code, detail)


@pytest.mark.parametrize(
    ("width", "height", "usable"),
    [(800, 400, True), (600, 800, True), (500, 250, True), (800, 399, False), (600, 801, False), (499, 400, False)],
)
def test_solapis_bms_rule_is_2_to_1_through_3_to_4_and_kakaos_500_px(width: int, height: int, usable: bool) -> None:
    assert (check_image(png(width, height), IMAGE_RULE) is None) is usable
    assert IMAGE_RULE.max_bytes == 5 * 1024 * 1024


async def test_an_uploaded_image_gets_a_file_id_that_a_send_may_use() -> None:
    emulator = SolapiEmulator(CONFIG)
    async with httpx.AsyncClient(transport=EmulatorTransport([emulator])) as client:
        file_id = await kakao_images(CONFIG).upload(client, jpeg(800, 400), "banner.jpg")
    [stored] = emulator.requests

    assert len(file_id) == 32
    assert file_id.startswith("ST01FZ")
    assert emulator.files == {file_id: jpeg(800, 400)}
    assert msgspec.json.decode(stored.content)["type"] == "BMS"
    signed = authorization(CONFIG.api_key, CONFIG.api_secret, iso_date(time.time()), SALT)
    sent = await post(emulator, bms_entry(chatBubbleType="IMAGE", imageId=file_id), authorization_header=signed)
    assert sent.json()["failedMessageList"] == []


async def test_the_adapters_image_bubble_is_accepted_with_the_uploaded_id() -> None:
    emulator = SolapiEmulator(CONFIG)
    async with httpx.AsyncClient(transport=EmulatorTransport([emulator])) as client:
        file_id = await upload_image(client, CONFIG, png(800, 400), filename="banner.png")
        request = SolapiKakaoAdapter(CONFIG).build(kakao(image_url=file_id), "gw-1")
        sent = await client.post(request.url, json=request.json, headers=request.headers)

    assert sent.json()["failedMessageList"] == []
    assert emulator.json_bodies()[-1]["messages"][0]["kakaoOptions"]["bms"]["imageId"] == file_id


async def test_a_send_with_an_image_id_solapi_did_not_issue_fails_1034() -> None:
    emulator = SolapiEmulator(CONFIG, clock=lambda: NOW)
    response = await post(emulator, bms_entry(chatBubbleType="IMAGE", imageId="ST01FZ20250615150640ABCDEFGHIJKL"))
    [failed] = response.json()["failedMessageList"]

    assert (failed["statusCode"], failed["statusMessage"]) == ("1034", "imageId가 존재하지 않습니다.")


@pytest.mark.parametrize(
    ("data", "file_type", "name"),
    [
        (b"GIF89a" + bytes(32), "BMS", "a.gif"),
        (b"\xff\xd8" + bytes(5 * 1024 * 1024), "BMS", "big.jpg"),
        (png(800, 400), "KAKAO", "a.png"),
        (png(800, 400), "BMS", "x" * 101),
    ],
)
async def test_the_emulator_refuses_what_its_bms_storage_does_not_take(data: bytes, file_type: str, name: str) -> None:
    emulator = SolapiEmulator(CONFIG)
    request = upload_request(CONFIG, data, name=name, date=iso_date(time.time()), salt=SALT)
    async with httpx.AsyncClient(transport=EmulatorTransport([emulator])) as client:
        response = await client.post(request.url, json={**request.json, "type": file_type}, headers=request.headers)

    assert response.status_code == 400
    assert response.json()["errorCode"] == "ValidationError"
    assert emulator.files == {}


async def test_the_upload_is_signed_with_solapis_api_key_and_secret() -> None:
    emulator = SolapiEmulator(CONFIG)
    wrong = SolapiConfig(api_key=CONFIG.api_key, api_secret="wrong", pf_id=CONFIG.pf_id, send_no=CONFIG.send_no)
    async with httpx.AsyncClient(transport=EmulatorTransport([emulator])) as client:
        with pytest.raises(ImageUploadFailed) as failed:
            await upload_image(client, wrong, png(800, 400), filename="a.png")

    assert failed.value.code == "SignatureDoesNotMatch"
    assert emulator.files == {}
