"""The sandbox's callback pump: every emulator's callbacks reach the intake, and none is lost to a store outage."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import httpx
import pytest

from adapters.base import send
from adapters.registry import Runtime, build_runtime
from gateway.errors import CallbackUnauthenticated
from gateway.models import OutboundMessage
from gateway.receipts.intake import CallbackAuth, Taken
from gateway.receipts.sandbox import SandboxCallbacks
from gateway.store.base import StoreUnavailable
from tests.conftest import make_settings

AUTH = CallbackAuth({"nhn": ("nhn-signature",), "solapi": ("solapi-token",), "sendgrid": ("unused-key",)})
MESSAGES = {
    ("nhn", "kakao"): OutboundMessage(channel="kakao", user_id="u", content="안녕하세요", phone="01012345678", ad=True),
    ("nhn", "lms"): OutboundMessage(channel="lms", user_id="u", content="안녕하세요", phone="01012345678"),
    ("solapi", "lms"): OutboundMessage(channel="lms", user_id="u", content="안녕하세요", phone="01012345678"),
    ("sendgrid", "email"): OutboundMessage(
        channel="email", user_id="u", content="<p>hi</p>", text="hi", subject="s", email="jane@example.com"
    ),
}


class _Intake:
    """Records what it is handed; fails as told."""

    def __init__(self, *failures: Exception) -> None:
        self.failures = list(failures)
        self.calls: list[tuple[str, str | None, str | None]] = []

    async def receive(self, vendor: str, headers: Mapping[str, str], body: bytes, *, token: str | None = None) -> Taken:
        if self.failures:
            raise self.failures.pop(0)
        self.calls.append((vendor, token, headers.get("X-Toast-Webhook-Signature")))
        return Taken(1, 1)


async def _send_one_of_each(runtime: Runtime) -> None:
    async with httpx.AsyncClient(transport=runtime.transport) as client:
        for key, message in MESSAGES.items():
            adapter = runtime.adapters[key]
            result = await send(client, adapter, adapter.build(message, f"m-{key[0]}-{key[1]}"))
            assert type(result.outcome).__name__ == "Accepted", result


async def test_every_emulator_s_callbacks_reach_the_intake_signed_with_the_gateway_s_secrets(tmp_path: Path) -> None:
    runtime = build_runtime(make_settings(tmp_path))
    await _send_one_of_each(runtime)
    intake = _Intake()
    pump = SandboxCallbacks(runtime.emulators, intake, AUTH)  # type: ignore[arg-type]

    assert await pump.run_once() == 4
    assert await pump.run_once() == 0

    assert sorted(intake.calls, key=str) == sorted(
        [
            ("nhn", None, "nhn-signature"),
            ("nhn", None, "nhn-signature"),
            ("sendgrid", None, None),
            ("solapi", "solapi-token", None),
        ],
        key=str,
    )


async def test_a_callback_the_store_could_not_take_is_delivered_on_the_next_pass(tmp_path: Path) -> None:
    runtime = build_runtime(make_settings(tmp_path))
    await _send_one_of_each(runtime)
    intake = _Intake(StoreUnavailable("down"))
    pump = SandboxCallbacks(runtime.emulators, intake, AUTH)  # type: ignore[arg-type]

    await pump.run_once()
    assert len(intake.calls) == 3
    assert await pump.run_once() == 1
    assert len(intake.calls) == 4


async def test_a_rejected_callback_is_logged_and_not_sent_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    runtime = build_runtime(make_settings(tmp_path))
    await _send_one_of_each(runtime)
    intake = _Intake(CallbackUnauthenticated("The callback is not authenticated."))
    pump = SandboxCallbacks(runtime.emulators, intake, AUTH)  # type: ignore[arg-type]

    with caplog.at_level(logging.ERROR):
        await pump.run_once()

    assert "sandbox callback rejected" in caplog.text
    assert await pump.run_once() == 0
