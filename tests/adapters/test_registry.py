"""Which products the runtime emulates, and where its transport sends each host."""

from __future__ import annotations

import logging

import httpx
import pytest
import respx

from adapters.contract import Reason, Receipt
from adapters.emulator import EmulatorTransport
from adapters.registry import VENDORS, build_runtime, channel_vendors, product_of, reason_of
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

    assert set(runtime.emulators) == set(PRODUCTS) - {"nhn_kakao", "nhn_sms"}
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


@pytest.mark.parametrize(
    ("vendor", "code", "expected"),
    [
        ("nhn", "3018", Reason.UNREACHABLE),
        ("nhn", "3019", Reason.UNREACHABLE),
        ("nhn", "3008", Reason.INVALID),
        ("nhn", "1021", Reason.BLOCKED),
        ("nhn", "9999", Reason.RETRY_LATER),
        ("nhn", None, Reason.OTHER),
        ("solapi", "3102", Reason.UNREACHABLE),
        ("solapi", "3104", Reason.UNREACHABLE),
        ("solapi", "3018", Reason.OTHER),
        ("sendgrid", "bounce", Reason.BOUNCED),
        ("twilio", "3018", Reason.OTHER),
    ],
)
def test_a_receipt_stored_without_a_reason_gets_its_vendor_s_reading_of_its_code(
    vendor: str, code: str | None, expected: Reason
) -> None:
    receipt = Receipt(vendor=vendor, event_id="e", outcome="failed", code=code)

    assert reason_of(receipt, "email" if vendor == "sendgrid" else "kakao") is expected


def test_a_parser_s_reason_wins_over_the_code() -> None:
    receipt = Receipt(vendor="nhn", event_id="e", outcome="failed", code="3018", reason=Reason.BLOCKED)

    assert reason_of(receipt, "kakao") is Reason.BLOCKED


def test_each_channel_lists_its_default_vendor_first() -> None:
    vendors = channel_vendors({"email": "sendgrid", "kakao": "solapi"})

    assert vendors["email"][0] == "sendgrid"
    assert vendors["kakao"][0] == "solapi"
    assert set(vendors["lms"]) >= {"nhn", "solapi"}


def test_every_product_belongs_to_one_vendor_and_sends_its_channels() -> None:
    for spec in VENDORS:
        for product in spec.products:
            for channel in product.channels:
                assert product_of(spec.name, channel) == product.name
    with pytest.raises(KeyError):
        product_of("sendgrid", "kakao")
