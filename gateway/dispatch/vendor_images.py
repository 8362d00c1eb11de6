"""A kakao message's image as its vendor needs it: uploaded to the vendor, or left out with a note saying why
(docs/vendors.md, "Kakao images")."""

from __future__ import annotations

import msgspec

from adapters.contract import OutboundMessage
from gateway.dispatch.wiring import Wiring
from gateway.images.fetch import ImageRefused
from gateway.models import StoredMessage

__all__ = ("VendorImages",)

_LEFT_OUT = "image left out: "


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
            if await self._first_left_out(record):
                await self._store.note(record.id, f"{_LEFT_OUT}{exc.reason}", now=self._clock())
            return msgspec.structs.replace(message, image_url=None)
        return msgspec.structs.replace(message, image_url=vendor_image)

    async def _first_left_out(self, record: StoredMessage) -> bool:
        """Whether the timeline has no note yet that the image was left out: it is said once, not at every retry.

        A message never tried cannot have one (read nothing: a campaign with a broken image is all first tries),
        except after its breaker put it back untried, where the note may be repeated once per such return.
        """
        if not record.attempt_count:
            return True
        detail = await self._store.get(record.id)
        return detail is None or not any(event.reason.startswith(_LEFT_OUT) for event in detail.events)
