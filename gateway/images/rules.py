"""A vendor's kakao image rule (``adapters.spec.ImageRule``), checked before an upload (docs/vendors.md).

Format and dimensions are read from the file's own header (PNG ``IHDR``, JPEG ``SOFn``), never from a file name
or a ``Content-Type`` the image's server chose.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from adapters.spec import ImageRule

__all__ = ("ImageFacts", "check_image", "read_image_facts")

ImageFormat = Literal["png", "jpeg"]

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Start-of-frame markers carry the dimensions; C4 (Huffman tables), C8 (reserved) and CC (arithmetic coding) do not.
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# Markers that stand alone, without a length: TEM and RST0-7.
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})


@dataclass(frozen=True)
class ImageFacts:
    """What the checks need to know about an image."""

    format: ImageFormat
    width: int
    height: int
    size: int


def read_image_facts(data: bytes) -> ImageFacts | None:
    """Format and dimensions from a PNG or JPEG header; ``None`` for anything else or a broken header."""
    if data.startswith(_PNG_SIGNATURE):
        # The first chunk must be IHDR: length (4), type (4), width (4), height (4).
        if len(data) < 24 or data[12:16] != b"IHDR":
            return None
        width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        return ImageFacts("png", width, height, len(data))
    if data.startswith(b"\xff\xd8"):
        dimensions = _jpeg_dimensions(data)
        return None if dimensions is None else ImageFacts("jpeg", dimensions[0], dimensions[1], len(data))
    return None


def _jpeg_dimensions(data: bytes) -> tuple[int, int] | None:
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            return None
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte before a marker
            position += 1
            continue
        if marker in _STANDALONE:
            position += 2
            continue
        length = int.from_bytes(data[position + 2 : position + 4], "big")
        if marker in _SOF_MARKERS:
            if position + 9 > len(data):
                return None
            height = int.from_bytes(data[position + 5 : position + 7], "big")
            width = int.from_bytes(data[position + 7 : position + 9], "big")
            return width, height
        if marker == 0xDA or length < 2:  # start of scan before any frame header, or a broken segment
            return None
        position += 2 + length
    return None


def check_image(data: bytes, rule: ImageRule) -> str | None:
    """Check an image against a vendor's rule.

    Args:
        data: The image's bytes.
        rule: The vendor's limits.

    Returns:
        ``None`` when the image may be uploaded, else why not (for the message's timeline).
    """
    if len(data) > rule.max_bytes:
        return f"the image is larger than {rule.max_bytes} bytes"
    facts = read_image_facts(data)
    if facts is None:
        return "the image is not a PNG or JPEG file"
    if facts.width < rule.min_width:
        return f"the image is {facts.width} px wide, less than {rule.min_width} px"
    ratio = facts.height / facts.width
    if not rule.min_ratio <= ratio <= rule.max_ratio:
        return f"the image's height ÷ width ({ratio:.3f}) is outside {rule.min_ratio:.4g}–{rule.max_ratio:.4g}"
    return None
