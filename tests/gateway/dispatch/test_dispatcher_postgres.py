"""Two gateway processes on one PostgreSQL database never send a message twice (docs/ARCHITECTURE.md, "The store")."""

from __future__ import annotations

import asyncio
import json

import pytest
from litestar.testing import AsyncTestClient

from gateway.app import create_app
from gateway.models import Status
from gateway.settings import load_settings
from tests.conftest import INGEST_TOKEN, SEED_BODY, Clock, ingest_headers


@pytest.mark.parametrize("batched", [False, True], ids=["one-phone", "a-phone-each"])
async def test_two_dispatchers_share_the_queue_without_double_sends(postgres_url: str, batched: bool) -> None:
    settings = load_settings(
        {"GATEWAY_DATABASE_URL": postgres_url, "GATEWAY_INGEST_TOKENS": INGEST_TOKEN, "GATEWAY_DISPATCH_BATCH": "8"}
    )
    clock = Clock()
    first, second = (create_app(settings, clock=clock, start_dispatcher=False) for _ in range(2))
    async with AsyncTestClient(first) as client, AsyncTestClient(second):
        ids = []
        for n in range(40):
            response = await client.post(
                "/v1/braze/messages",
                json=SEED_BODY | {"dispatchId": f"d-{n}", **_phone(n, batched)},
                headers=ingest_headers(),
            )
            assert response.status_code == 202
            ids.append(response.json()["messageId"])
        for app in (first, second):
            app.state.runtime.emulators["nhn_kakao"].latency = 0.01  # so both claim while the other sends
        sent = [0, 0]
        while sum(sent) < len(ids):
            counts = await asyncio.gather(first.state.dispatcher.run_once(), second.state.dispatcher.run_once())
            assert sum(counts) > 0
            sent = [a + b for a, b in zip(sent, counts, strict=True)]
        assert min(sent) > 0  # both processes took part
        requests = [request for app in (first, second) for request in app.state.runtime.emulators["nhn_kakao"].requests]
        # Every message in exactly one request (a batch names each of its recipients by our id).
        named = [
            r["recipientGroupingKey"] for request in requests for r in json.loads(request.content)["recipientList"]
        ]
        assert sorted(named) == sorted(ids)
        if batched:
            assert len(requests) < len(ids)
        else:  # one phone: a request names a recipient once, so each message went alone, with its own key
            assert sorted(request.headers["X-NC-API-IDEMPOTENCY-KEY"] for request in requests) == sorted(ids)
        for message_id in ids:
            detail = await first.state.store.get(message_id)
            assert detail.record.status is Status.ACCEPTED


def _phone(n: int, batched: bool) -> dict[str, str]:
    return {"phone": f"010-5555-{n:04d}"} if batched else {}
