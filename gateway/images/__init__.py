"""Kakao images from any URL: a safe fetch of the caller's ``imageUrl`` and the checks against Kakao's rules."""

from __future__ import annotations

from gateway.images.fetch import FetchPolicy, ImageRefused, fetch_image, is_public_address, system_resolver
from gateway.images.rules import ImageFacts, check_image, read_image_facts

__all__ = (
    "FetchPolicy",
    "ImageFacts",
    "ImageRefused",
    "check_image",
    "fetch_image",
    "is_public_address",
    "read_image_facts",
    "system_resolver",
)
