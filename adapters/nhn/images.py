"""NHN Cloud brand message image upload: a kakao image must be uploaded to NHN before a send can use it.

``POST /brand-message/v1.0/appkeys/{appKey}/images`` (``multipart/form-data``: ``image`` the file, ``imageType``
``IMAGE`` for the image bubble) answers ``{"header": {...}, "image": {"imageSeq", "imageUrl", "imageName"}}``;
the send then carries that ``imageUrl`` (a URL NHN did not issue fails ``-8002``). An invalid file fails ``-8001``,
a server fault ``-8010``. Source: TOAST-DOCS/Alimtalk ``ko/friendtalkupgrade-api-guide.md`` §이미지 업로드 and
``ko/error-code.md`` (docs/vendors.md, "Kakao images").
"""

from __future__ import annotations

import httpx
import msgspec

from adapters.nhn.common import SECRET_HEADER
from adapters.nhn.config import NhnKakaoConfig
from adapters.spec import ImageRule, ImageUploadFailed, KakaoImages

__all__ = ("IMAGE_RULE", "IMAGE_TYPE", "images_path", "kakao_images", "upload_image")

#: The image type of the IMAGE bubble.
IMAGE_TYPE = "IMAGE"
#: NHN's rule for it (업로드 이미지 규격): jpg/png, ≤ 5 MB, ≥ 500 px wide, 0.5 ≤ height ÷ width ≤ 1.333. The
#: 1.333 is read as 3:4 rounded (a 600 × 800 image passes here): were NHN stricter, its upload refuses the file
#: and the message goes without the image, as for any refused upload.
IMAGE_RULE = ImageRule(max_bytes=5 * 1024 * 1024, min_width=500, min_ratio=0.5, max_ratio=4 / 3)


def images_path(appkey: str) -> str:
    """The upload endpoint's path for an app key."""
    return f"/brand-message/v1.0/appkeys/{appkey}/images"


class _Header(msgspec.Struct, frozen=True, rename="camel"):
    result_code: int
    result_message: str = ""
    is_successful: bool = False


class _Image(msgspec.Struct, frozen=True, rename="camel"):
    image_url: str


class _Answer(msgspec.Struct, frozen=True):
    header: _Header
    image: _Image | None = None


async def upload_image(client: httpx.AsyncClient, config: NhnKakaoConfig, data: bytes, *, filename: str) -> str:
    """Upload an image for the IMAGE bubble.

    Args:
        client: The shared vendor client.
        config: The kakao product's app key and secret.
        data: The checked image (jpg or png).
        filename: A name with the format's extension (NHN keeps it as ``imageName``).

    Returns:
        The ``imageUrl`` NHN issued, for the send's ``image.imageUrl``.

    Raises:
        ImageUploadFailed: NHN refused the image or its answer could not be read.
        httpx.HTTPError: The call itself failed.
    """
    response = await client.post(
        config.url.rstrip("/") + images_path(config.appkey),
        headers={SECRET_HEADER: config.secret},
        data={"imageType": IMAGE_TYPE},
        files={"image": (filename, data)},
    )
    try:
        answer = msgspec.json.decode(response.content, type=_Answer)
    except msgspec.DecodeError as exc:
        raise ImageUploadFailed(None, f"unreadable answer (HTTP {response.status_code})") from exc
    if not answer.header.is_successful or answer.image is None:
        raise ImageUploadFailed(answer.header.result_code, answer.header.result_message)
    return answer.image.image_url


def kakao_images(config: NhnKakaoConfig) -> KakaoImages:
    """The brand message product's image rule and upload (the registry's ``Product.kakao_images``)."""

    async def upload(client: httpx.AsyncClient, data: bytes, filename: str) -> str:
        return await upload_image(client, config, data, filename=filename)

    # -8002 "It is not found any images" (error-code.md): the issued URL is gone from NHN.
    return KakaoImages(rule=IMAGE_RULE, upload=upload, gone_codes=frozenset({"-8002"}))
