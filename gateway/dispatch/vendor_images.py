"""A kakao message's image as its vendor needs it: uploaded to the vendor, or left out with a note saying why
(docs/vendors.md, "Kakao images")."""

from __future__ import annotations

import msgspec

from adapters.contract import OutboundMessage
from gateway.dispatch.wiring import Wiring
from gateway.images.fetch import ImageRefused
from gateway.models import StoredMessage

__all__ = ("VendorImages",)


class VendorImages:
    """Resolves the kakao images of the vendors that take only their own uploads.

    Args:
        wiring: The image uploads (``None``: no vendor needs them), the store and the clock.
    """

    def __init__(self, wiring: Wiring) -> None:
        self._images = wiring.images
        self._store = wiring.store
        self._clock = wiring.clock

    def needed(self, record: StoredMessage) -> bool:
        """Whether ``record`` carries an image its vendor takes only as its own upload."""
        images = self._images
        return (
            images is not None
            and record.channel == "kakao"
            and bool(record.message.image_url)
            and images.handles(record.vendor)
        )

    async def message_as_sent(self, record: StoredMessage) -> OutboundMessage:
        """The message as sent: its image replaced by the vendor's upload, or left out with a note saying why."""
        message = record.message
        images = self._images
        if images is None or not self.needed(record) or not message.image_url:
            return message
        try:
            vendor_image = await images.vendor_image(record.vendor, message.image_url)
        except ImageRefused as exc:
            # The channel's choice (docs/vendors.md, "Kakao images"): the text still goes, without the image.
            await self._store.note(record.id, f"image left out: {exc.reason}", now=self._clock())
            return msgspec.structs.replace(message, image_url=None)
        return msgspec.structs.replace(message, image_url=vendor_image)
