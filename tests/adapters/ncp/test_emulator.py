"""The SENS emulator refuses what SENS refuses and reports what it took through the result lookups."""

from __future__ import annotations

import httpx
import msgspec
import pytest

from adapters.base import send
from adapters.contract import Accepted, OutboundMessage, Outcome, Permanent, Receipt, Retryable
from adapters.emulator import EmulatorTransport, Fault
from adapters.ncp.adapter import NcpLmsAdapter, result_poll
from adapters.ncp.config import NcpConfig
from adapters.ncp.emulator import NcpEmulator
from adapters.spec import PollTarget

CONFIG = NcpConfig(access_key="AK-1", secret_key="SK-1", service_id="ncp:sms:kr:1234:svc", send_no="0212345678")
LMS = OutboundMessage(channel="lms", user_id="u-1", content="서포터님, 지금 확인해 보세요.", phone="01098765432")
AD_TEXT = "(광고)와디즈\n서포터님, 지금 확인해 보세요.\n무료거부 080-123-4567"


@pytest.fixture
def emulator() -> NcpEmulator:
    return NcpEmulator(CONFIG, outcomes={"01011112222": "3015"})


async def sent_and_polled(
    emulator: NcpEmulator, message: OutboundMessage, adapter: NcpLmsAdapter | None = None
) -> tuple[Outcome, list[Receipt]]:
    """Send ``message`` through ``adapter`` (one with the emulator's keys by default); poll it when accepted."""
    adapter = adapter or NcpLmsAdapter(CONFIG)
    async with httpx.AsyncClient(transport=EmulatorTransport([emulator])) as client:
        result = await send(client, adapter, adapter.build(message, "m-1"))
        if not isinstance(result.outcome, Accepted):
            return result.outcome, []
        target = PollTarget(message_id="m-1", vendor_message_id=result.outcome.vendor_message_id, created_at=0, now=0)
        return result.outcome, await result_poll(CONFIG)(client, target)


async def test_a_signed_lms_is_taken_and_its_result_is_a_delivered_receipt(emulator: NcpEmulator) -> None:
    outcome, receipts = await sent_and_polled(emulator, LMS)

    assert isinstance(outcome, Accepted)
    assert outcome.code == "202"
    assert [(r.outcome, r.code, r.correlation_id) for r in receipts] == [("delivered", "0", "m-1")]


async def test_a_recipient_named_in_outcomes_fails_with_that_code(emulator: NcpEmulator) -> None:
    _, receipts = await sent_and_polled(emulator, msgspec.structs.replace(LMS, phone="01011112222"))

    assert [(r.outcome, r.code) for r in receipts] == [("failed", "3015")]


async def test_a_request_signed_with_another_secret_is_refused_and_nothing_is_kept(emulator: NcpEmulator) -> None:
    forger = NcpLmsAdapter(msgspec.structs.replace(CONFIG, secret_key="guess"))

    outcome, _ = await sent_and_polled(emulator, LMS, forger)

    assert outcome == Permanent("200", "Authentication Failed: Invalid authentication information.")


async def test_a_stale_timestamp_is_refused(emulator: NcpEmulator) -> None:
    stale = NcpLmsAdapter(CONFIG, clock=lambda: 1_000_000.0)

    outcome, _ = await sent_and_polled(emulator, LMS, stale)

    assert isinstance(outcome, Permanent)
    assert outcome.code == "200"


@pytest.mark.parametrize(
    ("message", "config", "detail"),
    [
        (msgspec.structs.replace(LMS, content="서포터님", ad=True), CONFIG, "(광고)"),
        (LMS, msgspec.structs.replace(CONFIG, send_no="0299999999"), "not registered"),
        (msgspec.structs.replace(LMS, content="가" * 1001), CONFIG, "too long"),
        (msgspec.structs.replace(LMS, content="이모지 🎉"), CONFIG, "EUC-KR"),
        (msgspec.structs.replace(LMS, phone="0212345678"), CONFIG, "recipient"),
    ],
)
async def test_what_sens_refuses_is_refused_permanently(
    emulator: NcpEmulator, message: OutboundMessage, config: NcpConfig, detail: str
) -> None:
    outcome, _ = await sent_and_polled(emulator, message, NcpLmsAdapter(config))

    assert isinstance(outcome, Permanent)
    assert detail in outcome.detail


async def test_an_advertising_lms_with_the_legal_text_is_taken_as_ad(emulator: NcpEmulator) -> None:
    outcome, receipts = await sent_and_polled(emulator, msgspec.structs.replace(LMS, content=AD_TEXT, ad=True))

    assert isinstance(outcome, Accepted)
    [body] = [msgspec.json.decode(r.content) for r in emulator.requests if r.method == "POST"]
    assert (body["contentType"], body["content"]) == ("AD", AD_TEXT)
    assert len(receipts) == 1


async def test_scripted_faults_answer_as_sens_does(emulator: NcpEmulator) -> None:
    emulator.script(Fault(http_status=503), Fault(http_status=429, retry_after=3))

    first, _ = await sent_and_polled(emulator, LMS)
    second, _ = await sent_and_polled(emulator, LMS)

    assert isinstance(first, Retryable)
    assert first.code == "503"
    assert isinstance(second, Retryable)
    assert second.retry_after == 3.0
