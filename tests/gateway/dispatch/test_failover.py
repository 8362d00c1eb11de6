"""Vendor failover within a channel (issue 10): each kind of failure, with the emulators of both vendors."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from adapters.emulator import Emulator, Fault
from gateway.app import create_app
from gateway.dispatch.failover import attempt_was_outage, may_fail_over, next_vendor
from gateway.models import Attempt, AttemptOutcome, Status
from gateway.settings import ConfigError
from tests.conftest import LMS_BODY, SEED_BODY, Clock, ingest_headers, make_settings

KAKAO = SEED_BODY | {"fallback": "none"}


def attempt(
    outcome: AttemptOutcome = "retryable", http_status: int | None = None, code: str | None = None, detail: str = ""
) -> Attempt:
    return Attempt(
        number=1,
        started_at=0,
        duration_ms=1,
        outcome=outcome,
        http_status=http_status,
        vendor_code=code,
        detail=detail,
    )


@pytest.mark.parametrize(
    ("tried", "outage"),
    [
        (attempt(code="transport", detail="ConnectError"), True),  # nothing reached the vendor
        (attempt(code="timeout", detail="ConnectTimeout"), True),
        (attempt(code="timeout", detail="PoolTimeout"), True),
        (attempt(http_status=503, code="http-503"), True),
        (attempt(http_status=500, code="-9999", detail="System error"), True),
        (attempt(http_status=200, code="-9999", detail="System error"), True),  # NHN's system error, HTTP 200
        (attempt(http_status=200, code="9998", detail="Kakao system trouble"), True),
        (attempt(code="timeout", detail="ReadTimeout"), False),  # the request went out: it may have been taken
        (attempt(code="transport", detail="ReadError"), False),
        (attempt(code="transport", detail="RemoteProtocolError"), False),
        (attempt(http_status=200, code="malformed-response"), False),  # an unreadable 2xx
        (attempt(http_status=429, code="http-429"), False),  # our own pace, not an outage
        (attempt("permanent", 200, "-4019", "Invalid recipient number."), False),  # per-recipient
        (attempt("permanent", 400, "http-400"), False),  # validation
        (attempt("accepted", 200, "0"), False),
    ],
)
def test_which_failures_are_outages(tried: Attempt, outage: bool) -> None:
    assert attempt_was_outage(tried) is outage
    assert may_fail_over([attempt(http_status=503, code="http-503"), tried]) is outage


def test_the_next_vendor_is_the_next_available_one_in_order() -> None:
    assert next_vendor(("nhn", "solapi"), "nhn", {"nhn", "solapi"}) == "solapi"
    assert next_vendor(("nhn", "solapi"), "solapi", {"nhn", "solapi"}) is None  # never back to the first
    assert next_vendor(("nhn", "solapi"), "nhn", {"nhn"}) is None
    assert next_vendor(("nhn",), "solapi", {"nhn"}) is None
    assert may_fail_over([])


def test_vendor_lists_are_read_in_order_and_checked(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, GATEWAY_KAKAO_VENDOR="nhn, solapi", GATEWAY_EMAIL_VENDOR="nhn,sendgrid")
    assert settings.vendor_chain("kakao") == ("nhn", "solapi")
    assert settings.vendor_for("kakao") == "nhn"
    assert settings.vendor_chain("email") == ("nhn", "sendgrid")
    assert settings.vendor_chain("lms") == ("nhn",)
    with pytest.raises(ConfigError, match="GATEWAY_LMS_VENDOR: 'sendgrid' is not one of nhn, solapi"):
        make_settings(tmp_path, GATEWAY_LMS_VENDOR="nhn,sendgrid")
    with pytest.raises(ConfigError, match="names a vendor twice"):
        make_settings(tmp_path, GATEWAY_LMS_VENDOR="nhn,nhn")
    with pytest.raises(ConfigError, match="GATEWAY_KAKAO_VENDOR=solapi needs GATEWAY_SOLAPI_API_KEY"):
        make_settings(
            tmp_path,
            GATEWAY_SANDBOX="off",
            GATEWAY_KAKAO_VENDOR="nhn,solapi",
            GATEWAY_NHN_KAKAO_APPKEY="a",
            GATEWAY_NHN_KAKAO_SECRET="s",
            GATEWAY_NHN_SENDER_KEY="k" * 40,
        )


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[Litestar]:
    settings = make_settings(tmp_path, GATEWAY_KAKAO_VENDOR="nhn,solapi", GATEWAY_LMS_VENDOR="nhn,solapi")
    app = create_app(settings, clock=Clock(), start_dispatcher=False)
    async with AsyncTestClient(app) as client:
        app.state.test_client = client
        yield app


async def send_one(app: Litestar, body: dict[str, Any]) -> Any:
    response = await app.state.test_client.post("/v1/braze/messages", json=body, headers=ingest_headers())
    assert response.status_code == 202, response.text
    await app.state.dispatcher.run_once()
    return await app.state.store.get(response.json()["messageId"])


def emulators(app: Litestar) -> tuple[Emulator, Emulator]:
    return app.state.runtime.emulators["nhn_kakao"], app.state.runtime.emulators["solapi"]


def answering(emulator: Emulator, answer: Callable[[httpx.Request], Coroutine[Any, Any, httpx.Response]]) -> None:
    """Make ``emulator`` answer every request with ``answer`` (what faults cannot script)."""
    emulator.handle = answer  # type: ignore[method-assign,assignment]


async def connect_error(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


async def unreadable(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, content=b"<html>gateway</html>", request=request)


@pytest.mark.parametrize(
    ("kind", "script"),
    [
        ("5xx", [Fault(http_status=503)] * 3),
        ("system-error code", [Fault(vendor_code="-9999")] * 3),
        ("connect error", connect_error),
    ],
)
async def test_an_outage_at_the_first_vendor_sends_through_the_next(app: Litestar, kind: str, script: Any) -> None:
    nhn, solapi = emulators(app)
    if isinstance(script, list):
        nhn.script(*script)
    else:
        answering(nhn, script)

    detail = await send_one(app, KAKAO)

    assert detail.record.status is Status.ACCEPTED, kind
    assert detail.record.vendor == "solapi"
    assert len(solapi.requests) == 1
    assert len(detail.attempts) == 4  # three at NHN, one at Solapi
    failover = next(event for event in detail.events if event.reason.startswith("failover:"))
    assert failover.reason.startswith("failover: nhn answered an outage")
    assert "sending through solapi instead (next in GATEWAY_KAKAO_VENDOR)" in failover.reason
    assert detail.events[-1].reason.startswith("accepted by solapi")


@pytest.mark.parametrize(
    ("kind", "script", "status"),
    [
        ("read timeout after the request was sent", [Fault(timeout=True)] * 3, Status.RETRYING),
        ("unreadable 2xx", unreadable, Status.RETRYING),
        ("per-recipient failure", [Fault(vendor_code="-4019")], Status.DEAD),
        ("rate limited", [Fault(http_status=429, retry_after=1)] * 3, Status.RETRYING),
    ],
)
async def test_no_failover_when_the_first_vendor_may_have_it_or_the_message_is_at_fault(
    app: Litestar, kind: str, script: Any, status: Status
) -> None:
    nhn, solapi = emulators(app)
    if isinstance(script, list):
        nhn.script(*script)
    else:
        answering(nhn, script)

    detail = await send_one(app, KAKAO)

    assert detail.record.status is status, kind
    assert detail.record.vendor == "nhn"
    assert len(solapi.requests) == 0
    assert not any(event.reason.startswith("failover") for event in detail.events)


async def test_an_open_breaker_sends_through_the_next_vendor_without_calling_the_first(app: Litestar) -> None:
    nhn, _ = emulators(app)
    nhn.script(*[Fault(http_status=503)] * 20)
    for _ in range(20):
        await app.state.dispatcher.gates.get("nhn", "kakao").breaker.record(transient_failure=True)
    calls = len(nhn.requests)

    detail = await send_one(app, KAKAO)

    assert len(nhn.requests) == calls
    assert detail.record.vendor == "solapi"
    assert detail.record.status is Status.ACCEPTED
    assert [a.number for a in detail.attempts] == [1]
    assert "failover: nhn_kakao's circuit breaker is open" in detail.events[-2].reason


async def test_a_message_once_timed_out_at_its_vendor_never_fails_over(app: Litestar) -> None:
    nhn, solapi = emulators(app)
    nhn.script(Fault(timeout=True), *[Fault(http_status=503)] * 10)
    detail = await send_one(app, KAKAO)  # a read timeout, then 503s: NHN may have the message
    assert detail.record.status is Status.RETRYING
    app.state.clock.advance(3600)
    await app.state.dispatcher.run_once()
    detail = await app.state.store.get(detail.record.id)
    assert detail.record.vendor == "nhn"
    assert len(solapi.requests) == 0


async def test_a_message_that_names_its_vendor_is_never_moved(app: Litestar) -> None:
    nhn, solapi = emulators(app)
    nhn.script(*[Fault(http_status=503)] * 3)

    detail = await send_one(app, KAKAO | {"vendor": "nhn"})

    assert detail.record.status is Status.RETRYING
    assert detail.record.vendor == "nhn"
    assert len(solapi.requests) == 0


async def test_lms_fails_over_too(app: Litestar) -> None:
    app.state.runtime.emulators["nhn_sms"].script(*[Fault(http_status=500)] * 3)

    detail = await send_one(app, LMS_BODY)

    assert detail.record.vendor == "solapi"
    assert detail.record.status is Status.ACCEPTED
    assert not detail.record.uncertain
