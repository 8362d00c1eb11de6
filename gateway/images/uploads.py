"""A kakao message's image from any URL: fetched safely, checked, uploaded to the vendor once, reused.

The vendor's copy is cached in the store by (vendor, source URL, content SHA-256). A URL checked within
``fresh_for`` seconds is used without fetching it again, so a campaign of many messages fetches and uploads its
image once; after that the URL is fetched again and new content behind it is uploaded again (the same content
only has its row refreshed). Messages of one image that are sent at the same time wait for the first one's upload
(a lock per vendor and URL in this process). Policy (docs/vendors.md, "Kakao images"): an image that cannot be
used raises :class:`~gateway.images.fetch.ImageRefused`; the dispatcher then sends the message without it and
says why on its timeline.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable, Mapping

import httpx

from adapters.spec import KakaoImages
from gateway.images.fetch import FetchPolicy, ImageRefused, Resolver, fetch_image, system_resolver
from gateway.images.rules import check_image, read_image_facts
from gateway.store.base import Store

__all__ = ("ImageUploads",)

_POLICY = FetchPolicy()


class ImageUploads:
    """The vendor's image for a caller's image URL.

    Args:
        store: Where uploads are cached.
        vendors: By vendor, its rule and upload (``Runtime.kakao_images``).
        vendor_client: The shared client the uploads go through.
        fetch_client: The client that fetches callers' URLs: httpcore's transport (it pins the vetted address),
            no redirects followed by itself.
        resolver: Host name to addresses (tests inject one).
        policy: The fetch's limits; only tests relax its address check.
        clock: Current POSIX time.
        fresh_for: Seconds a checked URL is used without fetching it again.
    """

    def __init__(
        self,
        store: Store,
        vendors: Mapping[str, KakaoImages],
        vendor_client: httpx.AsyncClient,
        fetch_client: httpx.AsyncClient,
        *,
        resolver: Resolver = system_resolver,
        policy: FetchPolicy = _POLICY,
        clock: Callable[[], float] = time.time,
        fresh_for: float = 3600.0,
    ) -> None:
        self._store = store
        self._vendors = dict(vendors)
        self._vendor_client = vendor_client
        self._fetch_client = fetch_client
        self._resolver = resolver
        self._policy = policy
        self._clock = clock
        self._fresh_for = fresh_for
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    def handles(self, vendor: str) -> bool:
        """Whether ``vendor``'s kakao images go through an upload."""
        return vendor in self._vendors

    async def forget_if_gone(self, vendor: str, code: str | None, vendor_image: str) -> bool:
        """Whether ``code`` says ``vendor`` no longer has ``vendor_image``; if so, its cached copy is forgotten.

        The next send of the image uploads it again (docs/vendors.md, "Kakao images").
        """
        images = self._vendors.get(vendor)
        if images is None or code not in images.gone_codes:
            return False
        await self._store.forget_image_upload(vendor, vendor_image)
        return True

    async def vendor_image(self, vendor: str, source_url: str) -> str:
        """The vendor's URL (or id) of the image at ``source_url``, uploading it if need be.

        Raises:
            ImageRefused: The image cannot be fetched, breaks the vendor's rule, or the vendor refused it.
        """
        key = (vendor, source_url)
        lock = self._locks.setdefault(key, asyncio.Lock())
        try:
            async with lock:
                return await self._vendor_image(vendor, source_url)
        finally:
            # The last waiter leaves no lock behind: the map holds only images being prepared.
            if not lock.locked() and self._locks.get(key) is lock:
                del self._locks[key]

    async def _vendor_image(self, vendor: str, source_url: str) -> str:
        images = self._vendors[vendor]
        cached = await self._store.recent_image_upload(vendor, source_url, since=self._clock() - self._fresh_for)
        if cached is not None:
            return cached
        data = await fetch_image(self._fetch_client, source_url, resolver=self._resolver, policy=self._policy)
        problem = check_image(data, images.rule)
        facts = read_image_facts(data)
        if problem is not None or facts is None:
            raise ImageRefused(problem or "the image is not a PNG or JPEG file")
        digest = hashlib.sha256(data).hexdigest()
        known = await self._store.image_upload(vendor, source_url, digest)
        if known is None:
            extension = "jpg" if facts.format == "jpeg" else "png"
            try:
                known = await images.upload(self._vendor_client, data, f"{digest[:16]}.{extension}")
            except (ValueError, httpx.HTTPError) as exc:
                raise ImageRefused(f"the vendor did not take the image ({exc or type(exc).__name__})") from exc
        await self._store.save_image_upload(vendor, source_url, digest, known, now=self._clock())
        return known
