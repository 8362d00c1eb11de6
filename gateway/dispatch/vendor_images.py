"""A kakao message's image as its vendor needs it: uploaded to the vendor, or left out with a note saying why
(docs/vendors.md, "Kakao images")."""

from __future__ import annotations

import msgspec

from adapters.contract import OutboundMessage, Outcome, Permanent, Retryable
from gateway.dispatch.retry import SHORT_WAIT_LIMIT
from gateway.dispatch.wiring import Wiring
from gateway.images.fetch import ImageRefused
from gateway.models import StoredMessage

__all__ = ("VendorImages",)

_LEFT_OUT = "image left out: "
#: Longer than the in-process retries wait (``retry.SHORT_WAIT_LIMIT``): the message goes back to the queue and is
#: sent again from there, its image uploaded anew then (an in-process retry would name the gone image again).
_REUPLOAD_AFTER = SHORT_WAIT_LIMIT + 1.0


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

    async def settled(self, record: StoredMessage, sent: OutboundMessage, outcome: Outcome) -> Outcome:
        """``outcome``, unless the vendor refused ``sent`` for naming an uploaded image it no longer has.

        Then the cached copy is forgotten and the refusal becomes retryable: the message is sent again with a
        fresh upload, instead of failing for an image the gateway chose (docs/vendors.md, "Kakao images").
        """
        images = self._images
        if images is None or not isinstance(outcome, Permanent) or not sent.image_url or not self.needed(record):
            return outcome
        if not await images.forget_if_gone(record.vendor, outcome.code, sent.image_url):
            return outcome
        detail = f"{outcome.detail}: {record.vendor} no longer has the uploaded image; uploading it again"
        return Retryable(outcome.code, detail, retry_after=_REUPLOAD_AFTER)

    async def _first_left_out(self, record: StoredMessage) -> bool:
        """Whether the timeline has no note yet that the image was left out: it is said once, not at every retry.

        A message never tried cannot have one (read nothing: a campaign with a broken image is all first tries),
        except after its breaker put it back untried, where the note may be repeated once per such return.
        """
        if not record.attempt_count:
            return True
        detail = await self._store.get(record.id)
        return detail is None or not any(event.reason.startswith(_LEFT_OUT) for event in detail.events)
