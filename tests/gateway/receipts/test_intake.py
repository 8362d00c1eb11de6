"""Callback secrets per mode, and receipts counted by outcome as they are stored."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from adapters.registry import build_runtime
from gateway.errors import UnknownCallback
from gateway.models import Receipt
from gateway.receipts.intake import CallbackIntake, callback_auth, store_receipts
from gateway.store import SqliteStore
from tests.conftest import make_settings
from tests.gateway.api.test_callbacks import REAL_VENDORS


def test_real_vendors_use_exactly_the_configured_secrets(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, **REAL_VENDORS)

    auth = callback_auth(settings, build_runtime(settings))

    assert auth.secrets["nhn"] == (REAL_VENDORS["GATEWAY_NHN_WEBHOOK_SIGNATURE"],)
    assert auth.secrets["solapi"] == (REAL_VENDORS["GATEWAY_SOLAPI_CALLBACK_TOKEN"],)
    assert auth.secrets["sendgrid"] == (REAL_VENDORS["GATEWAY_SENDGRID_WEBHOOK_PUBLIC_KEY"],)


def test_a_sandbox_makes_up_unguessable_secrets_and_trusts_the_sendgrid_emulator_too(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, GATEWAY_SENDGRID_WEBHOOK_PUBLIC_KEY="a-real-key")
    runtime = build_runtime(settings)

    auth = callback_auth(settings, runtime)

    assert len(auth.secret("nhn") or "") >= 24
    assert len(auth.secret("solapi") or "") >= 24
    emulator_key = runtime.emulators["sendgrid"].public_key  # type: ignore[attr-defined]
    assert auth.secrets["sendgrid"] == ("a-real-key", emulator_key)
    unset = make_settings(tmp_path)
    assert callback_auth(unset, build_runtime(unset)).secrets["sendgrid"][0] != "a-real-key"
    kept = make_settings(tmp_path, GATEWAY_NHN_WEBHOOK_SIGNATURE="chosen")
    assert callback_auth(kept, build_runtime(kept)).secret("nhn") == "chosen"


def _count(vendor: str, outcome: str) -> float:
    return REGISTRY.get_sample_value("gateway_receipts_total", {"vendor": vendor, "outcome": outcome}) or 0.0


async def test_stored_receipts_are_counted_by_vendor_and_outcome_and_repeats_as_duplicates(tmp_path: Path) -> None:
    store = SqliteStore(str(tmp_path / "gateway.db"))
    await store.open()
    before = {key: _count("solapi", key) for key in ("delivered", "progress", "duplicate")}
    receipts = [
        Receipt(vendor="solapi", event_id="e1", outcome="progress", code="3000"),
        Receipt(vendor="solapi", event_id="e2", outcome="delivered", code="4000"),
    ]
    try:
        assert await store_receipts(store, receipts, now=1.0) == 2
        assert await store_receipts(store, receipts[1:], now=2.0) == 0
    finally:
        await store.close()

    after = {key: _count("solapi", key) for key in ("delivered", "progress", "duplicate")}
    assert {key: after[key] - before[key] for key in after} == {"delivered": 1, "progress": 1, "duplicate": 1}


async def test_an_unknown_vendor_is_not_found(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    intake = CallbackIntake(SqliteStore(str(tmp_path / "unused.db")), callback_auth(settings, build_runtime(settings)))

    with pytest.raises(UnknownCallback):
        intake.parse("twilio", {}, b"[]")
