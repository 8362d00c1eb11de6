from __future__ import annotations

from adapters.nhn.images import IMAGE_RULE as NHN_IMAGE_RULE
from gateway.images import check_image, read_image_facts
from tests.gateway.images.samples import jpeg, png


def test_png_and_jpeg_dimensions_come_from_their_headers() -> None:
    facts = read_image_facts(png(800, 400))
    assert facts is not None
    assert (facts.format, facts.width, facts.height) == ("png", 800, 400)
    facts = read_image_facts(jpeg(640, 480))
    assert facts is not None
    assert (facts.format, facts.width, facts.height) == ("jpeg", 640, 480)


def test_an_image_inside_nhns_rule_passes() -> None:
    assert check_image(png(800, 400), NHN_IMAGE_RULE) is None
    assert check_image(jpeg(500, 666), NHN_IMAGE_RULE) is None
    assert check_image(jpeg(600, 800), NHN_IMAGE_RULE) is None  # 3:4, NHN's "1.333"


def test_other_formats_and_broken_headers_are_refused() -> None:
    assert check_image(b"GIF89a" + bytes(64), NHN_IMAGE_RULE) == "the image is not a PNG or JPEG file"
    assert check_image(png(800, 400)[:20], NHN_IMAGE_RULE) == "the image is not a PNG or JPEG file"
    assert check_image(b"\xff\xd8\xff\xda\x00\x08", NHN_IMAGE_RULE) == "the image is not a PNG or JPEG file"


def test_narrow_images_and_ratios_outside_the_rule_are_refused() -> None:
    assert check_image(png(499, 300), NHN_IMAGE_RULE) == "the image is 499 px wide, less than 500 px"
    wide = check_image(png(1000, 499), NHN_IMAGE_RULE)
    assert wide is not None
    assert "outside 0.5–1.333" in wide
    tall = check_image(jpeg(600, 810), NHN_IMAGE_RULE)
    assert tall == "the image's height ÷ width (1.350) is outside 0.5–1.333"


def test_an_image_over_five_megabytes_is_refused() -> None:
    big = png(800, 400) + bytes(5 * 1024 * 1024)
    assert check_image(big, NHN_IMAGE_RULE) == "the image is larger than 5242880 bytes"
