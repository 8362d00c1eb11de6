"""Messages for the support API and console tests, sent through the real ingest and dispatcher."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from adapters.emulator import Fault
from gateway.dispatch.receipts import ReceiptApplier
from gateway.receipts.sandbox import SandboxCallbacks
from tests.conftest import SEED_BODY, ingest_headers

__all__ = ("EMAIL_BODY", "LMS_BODY", "Client", "post_message", "send_dead", "send_delivered", "settle_receipts")

Client = AsyncTestClient[Litestar]

LMS_BODY: dict[str, Any] = {
    "channel": "lms",
    "userId": "u-2",
    "phone": "+82 10-9876-5432",
    "subject": "지금 가장 핫한 프로젝트",
    "content": "서포터님, 지금 확인해 보세요.",
    "campaignId": "c2",
    "dispatchId": "d-lms",
}
EMAIL_BODY: dict[str, Any] = {
    "channel": "email",
    "userId": "u-3",
    "email": "jane@example.com",
    "subject": "이번 주 추천 프로젝트",
    "content": "<p>지금 확인해 보세요</p>",
    "campaignId": "c1a2b3",
    "dispatchId": "d-mail",
}


async def post_message(client: Client, body: dict[str, Any] | None = None, **changes: str) -> str:
    """Ingest ``body`` (the seed kakao body by default) with ``changes``; return the message id."""
    response = await client.post("/v1/braze/messages", json=(body or SEED_BODY) | changes, headers=ingest_headers())
    assert response.status_code == 202, response.text
    return str(response.json()["messageId"])


async def send_delivered(app: Litestar, client: Client, body: dict[str, Any] | None = None, **changes: str) -> str:
    """Ingest a message and let the dispatcher hand it to the vendor emulator (``accepted``)."""
    message_id = await post_message(client, body, **changes)
    assert await app.state.dispatcher.run_once() == 1
    return message_id


async def send_dead(app: Litestar, client: Client, **changes: str) -> str:
    """Ingest a kakao message without fallback that NHN rejects for good (``dead`` after one attempt)."""
    app.state.runtime.emulators["nhn_kakao"].script(Fault(vendor_code="-3006"))
    return await send_delivered(app, client, None, fallback="none", **changes)


async def settle_receipts(app: Litestar) -> None:
    """Let the emulators report what they accepted and apply their reports."""
    await app.state.dispatcher.duty(SandboxCallbacks).run_once()
    await app.state.dispatcher.duty(ReceiptApplier).run_once()
