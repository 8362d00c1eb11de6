"""Recipient normalisation: Korean mobile numbers and email addresses (docs/ARCHITECTURE.md, "Normalisation").

Error messages never repeat the number or the address: they end up in Braze's Message Activity Log.
"""

from __future__ import annotations

import re
import unicodedata

import phonenumbers
from email_validator import EmailNotValidError, validate_email

__all__ = ("RecipientError", "normalise_email", "normalise_phone")


def _kr_mobile_pattern() -> str:
    metadata = phonenumbers.PhoneMetadata.metadata_for_region("KR")
    if metadata is None or metadata.mobile is None or metadata.mobile.national_number_pattern is None:
        raise RuntimeError("phonenumbers has no Korean mobile metadata")
    return str(metadata.mobile.national_number_pattern)


# Digits and the separators people type; letters are refused because phonenumbers would read "010-ABCD-..." as
# a keypad number.
_PHONE_CHARS = re.compile(r"^[0-9+().\s\-\u2010-\u2015]+$")
_MOBILE = frozenset({phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE})
_KOREA = 82
# The national form (010-1234-5678, 01012345678) is matched against phonenumbers' own KR mobile pattern without a
# full parse, which costs ten times more; every other form takes the full parse.
_NATIONAL = re.compile(r"^0(1\d{8,9})$")
_SEPARATORS = re.compile(r"[\s.\-]")
_KR_MOBILE = re.compile(_kr_mobile_pattern())
_NOT_MOBILE = "not a valid Korean mobile number (expected a form like 010-1234-5678)"
# "00" dialled before the country code, as from abroad; phonenumbers would read Korea's "008" carrier prefix instead.
_DIALLED_KOREA = re.compile(r"^00(?=[\s.\-]*8[\s.\-]*2)")
# 010 numbers have had eight digits after the prefix since 2004; phonenumbers' pattern still allows seven.
_SHORT_010 = re.compile(r"^010\d{7}$")


class RecipientError(ValueError):
    """A recipient that cannot receive the message; the message does not contain the recipient."""


def normalise_phone(raw: str) -> str:
    """Return a Korean mobile number as national digits (``01012345678``).

    Accepts the common forms: separators, ``+82``, ``0082``, ``+82 (0)10``, ``82`` without the plus, full-width
    digits.

    Raises:
        RecipientError: The number is not a valid Korean mobile number (a landline, a representative number
            such as 1588-..., another country, an extension, too short or too long).
    """
    text = _DIALLED_KOREA.sub("+", unicodedata.normalize("NFKC", raw).strip())
    if not text or not _PHONE_CHARS.match(text):
        raise RecipientError(_NOT_MOBILE)
    national = _NATIONAL.match(_SEPARATORS.sub("", text))
    if national is not None and _KR_MOBILE.fullmatch(national.group(1)):
        return _checked(national.group())
    try:
        number = phonenumbers.parse(text, "KR")
    except phonenumbers.NumberParseException:
        raise RecipientError(_NOT_MOBILE) from None
    # number_type is UNKNOWN for an invalid number, so a mobile type also means a valid number.
    if number.country_code != _KOREA or phonenumbers.number_type(number) not in _MOBILE:
        raise RecipientError(_NOT_MOBILE)
    return _checked(f"0{number.national_number}")


def _checked(national: str) -> str:
    if _SHORT_010.match(national):
        raise RecipientError(_NOT_MOBILE)
    return national


def normalise_email(raw: str) -> str:
    """Return the normalised email address (domain in lower case, Unicode domains kept).

    Only the syntax is checked: no DNS look-up at ingest. Non-ASCII local parts (SMTPUTF8) are refused because
    the email vendors do not deliver them reliably.

    Raises:
        RecipientError: The address is not valid; the message says why without repeating the address.
    """
    try:
        result = validate_email(raw.strip(), check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise RecipientError(f"not a valid email address: {_reason(exc, raw)}") from None
    return str(result.normalized)


def _reason(exc: EmailNotValidError, raw: str) -> str:
    """The validator's explanation, unless it quotes the address itself."""
    reason = str(exc)
    return "check its spelling" if raw.strip() and raw.strip() in reason else reason
