"""A small vendor with a batch API, for the dispatcher's batch tests: an adapter and the server it talks to.

The adapter is a :class:`~adapters.batch.BatchAdapter` for NHN's routes (so the registry's products, limits and
breakers apply), but its requests and answers are this module's own: ``{"content", "to": [{"id", "phone"}]}``
answered by ``{"results": [{"id", "result"}]}``. The server answers each recipient from a script.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any, ClassVar

import httpx
import msgspec

from adapters.base import VendorRequest, VendorResponse
from adapters.batch import BatchItem
from adapters.contract import (
    Accepted,
    Channel,
    Found,
    LookupResult,
    NotFound,
    OutboundMessage,
    Outcome,
    Permanent,
    Retryable,
    Uncertain,
)
from adapters.spec import LookupTarget

__all__ = ("FakeBatchAdapter", "FakeBatchKakao", "FakeVendor", "IdempotentBatchAdapter")

URL = "https://batch.vendor.test/send"


class FakeBatchAdapter:
    """A vendor's LMS whose requests carry one content for many recipients (like NHN's ``recipientList``)."""

    vendor: ClassVar[str] = "nhn"
    channel: ClassVar[Channel] = "lms"
    idempotent: ClassVar[bool] = False
    max_batch: ClassVar[int] = 50

    def build(self, message: OutboundMessage, message_id: str, *, send_key: str | None = None) -> VendorRequest:
        return self.build_batch([BatchItem(message=message, message_id=message_id, send_key=send_key or message_id)])

    def batch_key(self, message: OutboundMessage) -> Hashable | None:
        return message.content

    def build_batch(self, items: Sequence[BatchItem]) -> VendorRequest:
        return VendorRequest(
            method="POST",
            url=URL,
            headers={"X-Secret": "s3cret"},
            json={
                "content": items[0].message.content,
                "to": [{"id": i.message_id, "phone": i.message.phone} for i in items],
            },
            secret_headers=("X-Secret",),
        )

    def classify(self, response: VendorResponse) -> Outcome:
        return _outcomes(response)[0][1]

    def classify_batch(self, response: VendorResponse, items: Sequence[BatchItem]) -> list[Outcome]:
        answered = dict(_outcomes(response))
        if None in answered:  # the whole request failed
            return [answered[None]] * len(items)
        return [answered.get(item.message_id, Uncertain("missing", "not in the answer")) for item in items]


class FakeBatchKakao(FakeBatchAdapter):
    """The same vendor's kakao: the image (the vendor's upload) is part of the content."""

    channel: ClassVar[Channel] = "kakao"

    def batch_key(self, message: OutboundMessage) -> Hashable | None:
        return message.content, message.image_url

    def build_batch(self, items: Sequence[BatchItem]) -> VendorRequest:
        request = super().build_batch(items)
        return msgspec.structs.replace(request, json=request.json | {"image": items[0].message.image_url})


class IdempotentBatchAdapter(FakeBatchAdapter):
    """The LMS of a vendor that honours an idempotency key per request."""

    idempotent: ClassVar[bool] = True


def _outcomes(response: VendorResponse) -> list[tuple[str | None, Outcome]]:
    if response.status >= 500:
        return [(None, Retryable(f"http-{response.status}", "server error"))]
    results = msgspec.json.decode(response.body)["results"]
    kinds: dict[str, Outcome] = {
        "busy": Retryable("E2", "busy, try again"),
        "bad": Permanent("E1", "not a valid recipient"),
        "lost": Uncertain("E3", "answer lost"),
    }
    return [(r["id"], kinds.get(r["result"], Accepted(f"v-{r['id']}"))) for r in results]


class FakeVendor:
    """The server: answers each recipient by its script (``ok`` when none is left), keeps every request's body.

    Attributes:
        scripts: By message id, the results of its next sends (``ok``, ``busy``, ``bad``; ``drop`` leaves it out
            of the answer).
        statuses: HTTP statuses of the next requests (the whole request fails; each recipient's script waits).
        requests: Every request body, in order.
        taken: The ids the vendor took (for the lookup).
    """

    def __init__(self) -> None:
        self.scripts: dict[str, list[str]] = {}
        self.statuses: list[int] = []
        self.requests: list[dict[str, Any]] = []
        self.taken: set[str] = set()

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        body = msgspec.json.decode(request.content)
        self.requests.append(body)
        if self.statuses:
            return httpx.Response(self.statuses.pop(0))
        results = []
        for recipient in body["to"]:
            script = self.scripts.get(recipient["id"], [])
            result = script.pop(0) if script else "ok"
            if result in ("ok", "drop", "lost"):
                self.taken.add(recipient["id"])
            if result != "drop":
                results.append({"id": recipient["id"], "result": result})
        return httpx.Response(200, json={"results": results})

    def recipients(self) -> list[list[str]]:
        """The message ids of each request, in order."""
        return [[recipient["id"] for recipient in body["to"]] for body in self.requests]

    async def lookup(self, client: httpx.AsyncClient, target: LookupTarget) -> LookupResult:
        """The vendor's message list, by our id."""
        if target.message_id in self.taken:
            return Found(f"v-{target.message_id}", "in the list")
        return NotFound("not in the list")
