from __future__ import annotations

import pytest

from gateway.channels.undeliverable import kakao_undeliverable


@pytest.mark.parametrize(
    ("vendor", "code", "expected"),
    [
        ("nhn", "3018", True),
        ("nhn", "3019", True),
        ("nhn", "3008", False),
        ("nhn", "1021", False),
        ("nhn", "1000", False),
        ("nhn", None, False),
        ("solapi", "3102", True),
        ("solapi", "3104", True),
        ("solapi", "3018", False),
        ("sendgrid", "3018", False),
    ],
)
def test_only_each_vendor_s_not_reachable_by_kakaotalk_codes_count(
    vendor: str, code: str | None, expected: bool
) -> None:
    assert kakao_undeliverable(vendor, code) is expected
