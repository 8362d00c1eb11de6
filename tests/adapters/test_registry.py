"""Which products the runtime emulates, and where its transport sends each host."""

from __future__ import annotations

import logging

import httpx
import pytest
import respx

from adapters.emulators.base import EmulatorTransport
from adapters.registry import build_runtime
from gateway.settings import PRODUCTS, load_settings
from tests.conftest import NHN_KAKAO_AND_SMS, REAL_NHN


async def test_a_fresh_machine_emulates_every_product_and_reaches_no_other_host() -> None:
    runtime = build_runtime(load_settings({}))

    assert set(runtime.emulators) == set(PRODUCTS)
    assert isinstance(runtime.transport, EmulatorTransport)
    async with httpx.AsyncClient(transport=runtime.transport) as client:
        answer = await client.post("https://api.sendgrid.com/v3/mail/send", json={})
        with pytest.raises(httpx.ConnectError):
            await client.get("https://example.com/")
    assert answer.status_code == 401  # the SendGrid emulator: no API key
    assert len(runtime.emulators["sendgrid"].requests) == 1


@respx.mock
async def test_real_products_go_over_the_network_and_emulated_ones_to_their_emulators() -> None:
    # httpcore's pool, which respx intercepts (the default aiohttp one: tests/adapters/test_transport.py).
    runtime = build_runtime(load_settings({**NHN_KAKAO_AND_SMS, "GATEWAY_HTTP_TRANSPORT": "httpx"}))
    kakao = respx.route(host="kakao.staging.test").mock(return_value=httpx.Response(200, json={}))
    sms = respx.route(host="sms.staging.test").mock(return_value=httpx.Response(200, json={}))

    assert set(runtime.emulators) == {"nhn_email", "solapi", "sendgrid"}
    assert {("nhn", "kakao"), ("nhn", "lms"), ("sendgrid", "email")} <= set(runtime.adapters)
    assert runtime.transport is not None
    async with httpx.AsyncClient(transport=runtime.transport) as client:
        await client.post("https://kakao.staging.test/bizmessage/v2.3/appkeys/kakao-app/messages", json={})
        await client.post("https://sms.staging.test/sms/v3.0/appKeys/sms-app/sender/mms", json={})
        to_sendgrid = await client.post("https://api.sendgrid.com/v3/mail/send", json={})

    assert (kakao.call_count, sms.call_count) == (1, 1)
    assert to_sendgrid.status_code == 401
    assert len(runtime.emulators["sendgrid"].requests) == 1


def test_sandbox_off_builds_no_emulator_and_uses_plain_http() -> None:
    runtime = build_runtime(load_settings({**REAL_NHN, "GATEWAY_SANDBOX": "off"}))
    assert (runtime.emulators, runtime.transport) == ({}, None)
    assert ("nhn", "kakao") in runtime.adapters


async def test_sandbox_on_emulates_products_with_credentials_too() -> None:
    runtime = build_runtime(load_settings({**REAL_NHN, "GATEWAY_SANDBOX": "on"}))

    assert set(runtime.emulators) == set(PRODUCTS)
    assert runtime.transport is not None
    async with httpx.AsyncClient(transport=runtime.transport) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get("https://example.com/")


def test_a_half_real_gateway_warns_naming_the_emulated_products(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="adapters.registry"):
        build_runtime(load_settings(NHN_KAKAO_AND_SMS))

    [record] = caplog.records
    assert "nhn_email, solapi, sendgrid" in record.getMessage()
    assert "real: nhn_kakao, nhn_sms" in record.getMessage()
    assert "secret" not in record.getMessage()


@pytest.mark.parametrize("env", [{}, {**REAL_NHN, "GATEWAY_SANDBOX": "off"}])
def test_an_all_emulated_or_all_real_gateway_does_not_warn(
    env: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="adapters.registry"):
        build_runtime(load_settings(env))
    assert caplog.records == []


class _Recording(httpx.AsyncBaseTransport):
    """A fallback that answers 204 and records that it was closed."""

    closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(204)

    async def aclose(self) -> None:
        self.closed = True


async def test_closing_the_emulator_transport_closes_its_fallback() -> None:
    fallback = _Recording()
    async with httpx.AsyncClient(transport=EmulatorTransport([], fallback)) as client:
        assert (await client.get("https://example.com/")).status_code == 204
    assert fallback.closed
