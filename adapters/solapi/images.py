"""Solapi storage upload for brand message images: a ``BMS_FREE`` IMAGE bubble needs an image uploaded first.

``POST /storage/v1/files`` (signed like every Solapi call) with the JSON body ``{"file": <base64>, "type": "BMS",
"name": <≤ 100 characters>}`` answers ``{"fileId", "type", "name", "url", ...}``; the send then carries that
``fileId`` as ``kakaoOptions.bms.imageId`` (an id Solapi does not know fails ``1034``). A refusal is an error body
``{"errorCode", "errorMessage"}``. Sources (docs/vendors.md, "Kakao images"): solapi.com/developers/api/postStorage
(파일 업로드, 2026-03-18: the file types, the ``BMS`` rule, ``fileId``); solapi-nodejs
``services/storage/storageService.ts`` and ``examples/javascript/common/src/kakao/send/send_bms_free_image.js``
("이미지 업로드 시 fileType은 반드시 'BMS'"); solapi-python ``examples/simple/send_bms_free_image.py``; documents
``api-reference/message-status-codes.md`` (``1034``).
"""

from __future__ import annotations

import base64
import secrets
import time

import httpx
import msgspec

from adapters.base import VendorRequest, VendorResponse
from adapters.solapi.adapter import authorization, error_of, iso_date
from adapters.solapi.config import SolapiConfig
from adapters.spec import ImageRule, ImageUploadFailed, KakaoImages

__all__ = (
    "FILE_TYPE",
    "IMAGE_RULE",
    "STORAGE_PATH",
    "kakao_images",
    "parse_upload",
    "upload_image",
    "upload_request",
)

STORAGE_PATH = "/storage/v1/files"
#: The file type of a brand message's IMAGE (and COMMERCE) bubble image.
FILE_TYPE = "BMS"
#: Solapi's ``BMS`` rule: jpg/png, ≤ 5 MB, width:height from 2:1 to 3:4 (800 × 400 recommended). Solapi states no
#: minimum width; 500 px is Kakao's for the same bubble as NHN documents it, kept so a narrower image is left out
#: rather than risk a send Kakao refuses (docs/vendors.md, "Kakao images").
IMAGE_RULE = ImageRule(max_bytes=5 * 1024 * 1024, min_width=500, min_ratio=0.5, max_ratio=4 / 3)


class _Stored(msgspec.Struct, frozen=True, rename="camel"):
    file_id: str


def upload_request(config: SolapiConfig, data: bytes, *, name: str, date: str, salt: str) -> VendorRequest:
    """The signed upload of one checked image (jpg or png) as a ``BMS`` file.

    Args:
        config: The API key and secret.
        data: The image.
        name: Its name at Solapi (≤ 100 characters).
        date: The signature's ISO 8601 date.
        salt: The signature's random salt, never used twice.
    """
    return VendorRequest(
        method="POST",
        url=config.url.rstrip("/") + STORAGE_PATH,
        headers={
            "Authorization": authorization(config.api_key, config.api_secret, date, salt),
            "Content-Type": "application/json",
        },
        json={"file": base64.b64encode(data).decode("ascii"), "type": FILE_TYPE, "name": name},
        secret_headers=("Authorization",),
    )


def parse_upload(response: VendorResponse) -> str:
    """The ``fileId`` of a successful upload.

    Raises:
        ImageUploadFailed: Solapi refused the file, or its answer has no ``fileId``.
    """
    if not 200 <= response.status < 300:
        raise ImageUploadFailed(*error_of(response))
    try:
        return msgspec.json.decode(response.body, type=_Stored).file_id
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise ImageUploadFailed(None, f"unreadable answer (HTTP {response.status})") from exc


async def upload_image(client: httpx.AsyncClient, config: SolapiConfig, data: bytes, *, filename: str) -> str:
    """Upload an image for the IMAGE bubble and return its ``fileId``, for the send's ``bms.imageId``.

    Raises:
        ImageUploadFailed: Solapi refused the image or its answer could not be read.
        httpx.HTTPError: The call itself failed.
    """
    request = upload_request(config, data, name=filename, date=iso_date(time.time()), salt=secrets.token_hex(16))
    response = await client.request(request.method, request.url, headers=request.headers, json=request.json)
    return parse_upload(VendorResponse(response.status_code, response.headers, response.content))


def kakao_images(config: SolapiConfig) -> KakaoImages:
    """The brand message image rule and upload (the registry's ``Product.kakao_images``)."""

    async def upload(client: httpx.AsyncClient, data: bytes, filename: str) -> str:
        return await upload_image(client, config, data, filename=filename)

    # 1034 "imageId가 존재하지 않습니다" (docs/vendors.md, "Kakao images"): the stored file is gone.
    return KakaoImages(rule=IMAGE_RULE, upload=upload, gone_codes=frozenset({"1034"}))
