"""A gateway with some vendors real and some emulated: each message goes where its vendor really is."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import msgspec
import respx
from litestar.testing import AsyncTestClient

from adapters.registry import build_runtime
from gateway.app import create_app
from gateway.models import Status
from gateway.receipts.intake import callback_auth
from tests.adapters.nhn.test_sms import nhn_answer
from tests.adapters.test_transport import loopback, read_request
from tests.conftest import EMAIL_BODY, LMS_BODY, NHN_KAKAO_AND_SMS, REAL_NHN, Clock, ingest_headers, make_settings


@respx.mock
async def test_real_sms_reaches_its_staging_host_while_email_stays_emulated(tmp_path: Path) -> None:
    staging = respx.route(host="sms.staging.test").mock(return_value=httpx.Response(200, json=nhn_answer()))
    app = create_app(make_settings(tmp_path, **NHN_KAKAO_AND_SMS), clock=Clock(), start_dispatcher=False)

    async with AsyncTestClient(app) as client:
        ids = []
        for body in (LMS_BODY, EMAIL_BODY):
            response = await client.post("/v1/braze/messages", json=body, headers=ingest_headers())
            ids.append(response.json()["messageId"])
        await app.state.dispatcher.run_once()

        for message_id in ids:
            detail = await app.state.store.get(message_id)
            assert detail.record.status == Status.ACCEPTED
        assert staging.call_count == 1
        assert staging.calls.last.request.headers["X-Secret-Key"] == "sms-secret"
        assert "nhn_sms" not in app.state.runtime.emulators
        assert len(app.state.runtime.emulators["sendgrid"].requests) == 1


def test_a_real_sendgrid_keeps_its_webhook_key_while_other_products_are_emulated(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, **REAL_NHN, GATEWAY_SENDGRID_WEBHOOK_PUBLIC_KEY="configured-key")
    assert "sendgrid" not in settings.emulated
    assert settings.sandbox

    assert callback_auth(settings, build_runtime(settings)).secrets["sendgrid"] == ("configured-key",)


async def test_a_real_vendor_is_reached_over_the_default_aiohttp_transport(tmp_path: Path) -> None:
    seen: list[bytes] = []

    async def nhn_sms(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await read_request(reader))
        body = msgspec.json.encode(nhn_answer())
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body))
        writer.write(body)
        await writer.drain()
        writer.close()

    async with loopback(nhn_sms) as url:
        env = {**NHN_KAKAO_AND_SMS, "GATEWAY_NHN_SMS_URL": url, "GATEWAY_HTTP_TRANSPORT": "aiohttp"}
        app = create_app(make_settings(tmp_path, **env), clock=Clock(), start_dispatcher=False)
        async with AsyncTestClient(app) as client:
            response = await client.post("/v1/braze/messages", json=LMS_BODY, headers=ingest_headers())
            await app.state.dispatcher.run_once()
            detail = await app.state.store.get(response.json()["messageId"])

    assert detail.record.status == Status.ACCEPTED
    [request] = seen
    assert request.startswith(b"POST /sms/v3.0/appKeys/sms-app/sender/mms ")
    assert b"x-secret-key: sms-secret" in request.lower()
