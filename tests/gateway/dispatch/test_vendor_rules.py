"""Rules the vendors document, end to end through the sandbox: NHN never falls back on top of the gateway, a
recipient who is not a channel friend falls back to LMS, and a Solapi send that may have arrived is not repeated
before Solapi is asked."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from adapters.emulator import Fault
from adapters.nhn.emulator_kakao import NhnKakaoEmulator
from gateway.app import create_app
from gateway.models import Status
from tests.conftest import BRAZE, Clock, make_settings
from tests.gateway.api.messages import EMAIL_BODY, send_delivered, settle_receipts

Client = AsyncTestClient[Litestar]
PHONE = "01012345678"


@pytest.fixture
def app(tmp_path: Path, clock: Clock) -> Litestar:
    return create_app(make_settings(tmp_path, **BRAZE), clock=clock, start_dispatcher=False)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[Client]:
    async with AsyncTestClient(app) as test_client:
        yield test_client


def kakao_emulator(app: Litestar) -> NhnKakaoEmulator:
    emulator = app.state.runtime.emulators["nhn_kakao"]
    assert isinstance(emulator, NhnKakaoEmulator)
    return emulator


async def test_a_console_set_to_resend_cannot_make_nhn_fall_back_on_top_of_the_gateway(
    client: Client, app: Litestar
) -> None:
    emulator = kakao_emulator(app)
    emulator.console_resend = True
    emulator.outcomes[PHONE] = "3019"
    message_id = await send_delivered(app, client)

    await settle_receipts(app)
    assert await app.state.dispatcher.run_once() == 1

    parent = await app.state.store.get(message_id)
    assert parent.record.status is Status.FALLBACK
    child = await app.state.store.get(parent.record.child_id)
    assert (child.record.channel, child.record.status) == ("lms", Status.ACCEPTED)
    # One LMS, the gateway's: NHN was told not to send its own.
    assert emulator.resent == []


@pytest.mark.parametrize(
    ("vendor", "outcome"), [("nhn", "nhn_kakao:010-1234-5678=nonfriend"), ("solapi", "solapi:010-1234-5678=3102")]
)
async def test_a_sandbox_recipient_who_is_not_a_channel_friend_falls_back_to_lms(
    tmp_path: Path, clock: Clock, vendor: str, outcome: str
) -> None:
    settings = make_settings(tmp_path, GATEWAY_SANDBOX_OUTCOMES=outcome, **BRAZE)
    app = create_app(settings, clock=clock, start_dispatcher=False)
    async with AsyncTestClient(app) as client:
        message_id = await send_delivered(app, client, vendor=vendor)
        await settle_receipts(app)

        parent = await app.state.store.get(message_id)
    assert parent.record.status is Status.FALLBACK
    assert [r.receipt.reason for r in parent.receipts] == ["unreachable"]


async def test_a_solapi_send_whose_answer_was_lost_is_not_sent_again_before_solapi_is_asked(
    client: Client, app: Litestar
) -> None:
    app.state.runtime.emulators["solapi"].script(Fault(timeout=True, received=True))
    message_id = await send_delivered(app, client, vendor="solapi")

    detail = await app.state.store.get(message_id)
    # Solapi has no idempotency key: the send is not repeated in-process; its message list decides, later.
    assert detail.record.status is Status.RETRYING
    assert [a.outcome for a in detail.attempts] == ["uncertain"]
    assert "asking solapi whether it has the message" in detail.events[-1].reason
    assert detail.record.next_attempt_at == app.state.clock() + app.state.settings.lookup_delay
    assert await app.state.dispatcher.run_once() == 0


async def test_a_solapi_503_is_sent_again(client: Client, app: Litestar) -> None:
    app.state.runtime.emulators["solapi"].script(Fault(http_status=503))
    message_id = await send_delivered(app, client, vendor="solapi")

    detail = await app.state.store.get(message_id)
    assert detail.record.status is Status.ACCEPTED
    assert [a.outcome for a in detail.attempts] == ["retryable", "accepted"]


@pytest.mark.parametrize("vendor", ["sendgrid", "nhn"])
async def test_advertising_email_is_marked_and_carries_an_opt_out_link_through_each_vendor(
    client: Client, app: Litestar, vendor: str
) -> None:
    message_id = await send_delivered(app, client, EMAIL_BODY, ad="true", vendor=vendor)

    detail = await app.state.store.get(message_id)
    assert detail.record.status is Status.ACCEPTED
    assert detail.record.message.subject == "(광고) 이번 주 추천 프로젝트"
    [request] = app.state.runtime.emulators[f"{vendor}_email" if vendor == "nhn" else vendor].requests
    sent = request.content.decode()
    assert request.url.path.endswith("/ad-mail") is (vendor == "nhn")
    assert ("subscription_tracking" if vendor == "sendgrid" else "##EN_BLOCK_RECEIVER_LINK##") in sent
