"""Masking of personal data for staff who may not see it."""

from __future__ import annotations

__all__ = ("mask_email", "mask_phone")


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
