"""Masking of personal data for staff who may not see it."""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = ("mask_contacts", "mask_email", "mask_phone")

_ENCODER = msgspec.json.Encoder()


def mask_phone(phone: str | None) -> str | None:
    """``01012345678`` -> ``010-****-5678``."""
    if not phone:
        return phone
    return f"{phone[:3]}-****-{phone[-4:]}" if len(phone) >= 10 else "***"


def mask_email(email: str | None) -> str | None:
    """``jane@example.com`` -> ``j***@example.com``."""
    if not email:
        return email
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def mask_contacts(value: Any, phone: str | None, email: str | None) -> Any:
    """``value`` (any JSON-like data) with ``phone`` and ``email`` replaced by their masked forms, wherever they occur.

    Vendors put the number and the address in fields of their own naming (``recipientNo``, ``to``,
    ``receiveMailAddr``...), so the encoded text is searched rather than known keys.
    """
    text = _ENCODER.encode(value).decode()
    for secret, masked in ((phone, mask_phone), (email, mask_email)):
        if secret:
            text = text.replace(secret, masked(secret) or "")
    return msgspec.json.decode(text)
