"""The settings normalisation depends on, as one value passed in (the rules never read settings themselves)."""

from __future__ import annotations

from typing import Literal

import msgspec

from adapters import registry
from gateway.settings import CHANNEL_VENDORS, DEFAULT_VENDORS, Settings

__all__ = ("Policy", "policy_from_settings")


class Policy(msgspec.Struct, frozen=True, kw_only=True):
    """How bodies are normalised.

    Attributes:
        default_button_name: Name of a button sent without one.
        default_fallback: Kakao fallback when the body does not say.
        utm_source: When set, UTM parameters are appended to CTA links.
        link_hosts: When set, CTA links must point to one of these hosts or their subdomains.
        sender_name: Sender name of the advertising LMS prefix ``(광고)<name>``.
        opt_out_080: Free opt-out number of the advertising LMS suffix ``무료거부 <number>``.
        channel_vendors: The vendors a body may ask for, per channel.
        kakao_vendor: The kakao vendor of a body that names none.
        kakao_image_vendors: The kakao vendors that send a message's image.
        vendor_titles: Each vendor's name as notes show it.
    """

    default_button_name: str = "자세히 보기"
    default_fallback: Literal["lms", "none"] = "lms"
    utm_source: str | None = None
    link_hosts: frozenset[str] | None = None
    sender_name: str | None = None
    opt_out_080: str | None = None
    channel_vendors: dict[str, tuple[str, ...]] = msgspec.field(default_factory=lambda: dict(CHANNEL_VENDORS))
    kakao_vendor: str = DEFAULT_VENDORS["kakao"]
    kakao_image_vendors: frozenset[str] = frozenset(
        spec.name for spec in registry.VENDORS if spec.capabilities.kakao_images
    )
    vendor_titles: dict[str, str] = msgspec.field(
        default_factory=lambda: {spec.name: spec.title or spec.name for spec in registry.VENDORS}
    )


def policy_from_settings(settings: Settings) -> Policy:
    """Build the policy from the gateway's settings."""
    return Policy(
        default_button_name=settings.default_button_name,
        default_fallback=settings.default_fallback,
        utm_source=settings.utm_source,
        link_hosts=settings.link_hosts,
        sender_name=settings.sender_name,
        opt_out_080=settings.opt_out_080,
        kakao_vendor=settings.kakao_vendor,
    )
