"""The receipt sweep: accepted messages without a receipt end ``unknown`` after their channel's timeout."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from gateway.app import create_app
from gateway.dispatch.sweep import ReceiptSweep
from gateway.models import Status
from tests.conftest import EMAIL_BODY, LMS_BODY, SEED_BODY, Clock, ingest_headers, make_settings


async def accepted(client: AsyncTestClient[Litestar], app: Litestar, body: dict[str, Any]) -> str:
    response = await client.post("/v1/braze/messages", json=body, headers=ingest_headers())
    await app.state.dispatcher.run_once()
    return str(response.json()["messageId"])


async def statuses(app: Litestar, *ids: str) -> list[Status]:
    return [(await app.state.store.get(message_id)).record.status for message_id in ids]


async def test_kakao_and_lms_wait_a_day_and_email_three_days(tmp_path: Path) -> None:
    clock = Clock()
    app = create_app(make_settings(tmp_path), clock=clock, start_dispatcher=False)
    async with AsyncTestClient(app) as client:
        ids = [await accepted(client, app, body) for body in (SEED_BODY, LMS_BODY, EMAIL_BODY)]
        sweep = app.state.dispatcher.duty(ReceiptSweep)

        clock.advance(86401)
        assert await sweep.run_once() == 2
        assert await statuses(app, *ids) == [Status.UNKNOWN, Status.UNKNOWN, Status.ACCEPTED]
        clock.advance(2 * 86400)
        assert await sweep.run_once() == 1
        assert await statuses(app, *ids) == [Status.UNKNOWN] * 3
        detail = await app.state.store.get(ids[2])
        assert detail.events[-1].reason == "no delivery receipt within 72 h of acceptance: final state unknown"


async def test_timeouts_come_from_settings_and_unknown_is_reported_to_braze(tmp_path: Path) -> None:
    clock = Clock()
    settings = make_settings(
        tmp_path,
        GATEWAY_RECEIPT_TIMEOUT="5400",
        GATEWAY_EMAIL_RECEIPT_TIMEOUT="45",
        GATEWAY_BRAZE_REST_URL="https://rest.braze.test",
        GATEWAY_BRAZE_API_KEY="braze-key",
    )
    app = create_app(settings, clock=clock, start_dispatcher=False)
    async with AsyncTestClient(app) as client:
        kakao = await accepted(client, app, SEED_BODY)
        email = await accepted(client, app, EMAIL_BODY)
        sweep = app.state.dispatcher.duty(ReceiptSweep)

        clock.advance(46)
        assert await sweep.run_once() == 1
        clock.advance(5400)
        assert await sweep.run_once() == 1

        assert (await app.state.store.get(email)).events[-1].reason.startswith("no delivery receipt within 45 s")
        assert (await app.state.store.get(kakao)).events[-1].reason.startswith("no delivery receipt within 90 min")
        feedback = await app.state.store.claim_feedback(now=clock(), limit=10, lease=60)
        assert sorted((f.record.id, f.state) for f in feedback) == sorted(
            [(kakao, Status.UNKNOWN), (email, Status.UNKNOWN)]
        )
