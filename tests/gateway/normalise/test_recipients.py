from __future__ import annotations

import random

import phonenumbers
import pytest

from gateway.normalise.recipients import RecipientError, normalise_email, normalise_phone


@pytest.mark.parametrize(
    "raw",
    [
        "010-1234-5678",
        "010 1234 5678",
        "01012345678",
        "010.1234.5678",
        " 010-1234-5678 ",
        "+82 10-1234-5678",
        "+82 10 1234 5678",
        "+821012345678",
        "+82 (0)10 1234 5678",
        "+82 010 1234 5678",
        "821012345678",
        "82-10-1234-5678",
        "0082-10-1234-5678",
        "00821012345678",
        "0082 (0)10 1234 5678",
        "(010) 1234-5678",
        "０１０－１２３４－５６７８",
        "010‐1234‐5678",
    ],
)
def test_common_korean_mobile_forms(raw: str) -> None:
    assert normalise_phone(raw) == "01012345678"


def test_ten_digit_legacy_mobile_number() -> None:
    assert normalise_phone("011-234-5678") == "0112345678"


@pytest.mark.parametrize(
    "raw",
    [
        "02-123-4567",  # Seoul landline
        "031-123-4567",  # Gyeonggi landline
        "1588-1234",  # representative number
        "070-1234-5678",  # VoIP
        "050-1234-5678",  # personal number
        "010-123-456",  # too short
        "010-123-4567",  # 010 numbers have eight digits after the prefix
        "010-1234-56789",  # too long
        "+1 650 253 0000",  # another country
        "+81 90-1234-5678",  # a Japanese mobile
        "010-ABCD-5678",  # letters
        "010-1234-5678 ext 3",
        "",
        "   ",
        "전화번호",
    ],
)
def test_non_mobile_and_invalid_numbers_are_rejected(raw: str) -> None:
    with pytest.raises(RecipientError) as caught:
        normalise_phone(raw)
    assert str(caught.value) == "not a valid Korean mobile number (expected a form like 010-1234-5678)"


def test_national_fast_path_agrees_with_a_full_parse() -> None:
    numbers = random.Random(20250610)
    for _ in range(3000):
        digits = "01" + "".join(numbers.choice("0123456789") for _ in range(numbers.choice((8, 9))))
        parsed = phonenumbers.parse(digits, "KR")
        mobile = phonenumbers.is_valid_number(parsed) and phonenumbers.number_type(parsed) in (
            phonenumbers.PhoneNumberType.MOBILE,
            phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
        )
        try:
            accepted = normalise_phone(f"{digits[:3]}-{digits[3:-4]}-{digits[-4:]}") == digits
        except RecipientError:
            accepted = False
        short_010 = digits.startswith("010") and len(digits) == 10
        assert accepted == (mobile and not short_010), digits


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("supporter@wadiz.kr", "supporter@wadiz.kr"),
        ("  Kim.Supporter@Example.COM ", "Kim.Supporter@example.com"),
        ("user+tag@sub.wadiz.kr", "user+tag@sub.wadiz.kr"),
        ("x@xn--3e0b707e.kr", "x@한국.kr"),
        ("x@한국.kr", "x@한국.kr"),
    ],
)
def test_valid_emails_are_normalised(raw: str, expected: str) -> None:
    assert normalise_email(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["", "wadiz.kr", "a@b", "a@@b.com", "a b@c.com", "a..b@c.com", "Kim <a@b.com>", "a@b.com.", "홍길동@wadiz.kr"],
)
def test_invalid_emails_are_rejected_without_echoing_them(raw: str) -> None:
    with pytest.raises(RecipientError, match=r"^not a valid email address: ") as caught:
        normalise_email(raw)
    assert not raw.strip() or raw.strip() not in str(caught.value)
