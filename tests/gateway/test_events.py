"""Event logs (issue 11): a JSON line for each state change, receipt, fallback, replay, refusal and sign-in."""

from __future__ import annotations

import io
import logging
from typing import Any

import msgspec
from litestar import Litestar

from gateway.dispatch.receipts import ReceiptApplier
from gateway.log import configure_logging
from gateway.receipts.sandbox import SandboxCallbacks
from tests.conftest import OPERATOR_TOKEN, SEED_BODY, ingest_headers, staff_headers
from tests.gateway.api.messages import Client, send_dead
from tests.gateway.console.helpers import csrf, sign_in

PHONE = "01012345678"


def _events(lines: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [line for line in lines if line["logger"] == "gateway.events" and line["event"] == name]


async def test_every_step_of_a_fallen_back_message_is_an_event_without_personal_data(
    client: Client, app: Litestar
) -> None:
    stream = io.StringIO()
    configure_logging("DEBUG", stream)
    try:
        app.state.runtime.emulators["nhn_kakao"].outcomes[PHONE] = "3018"
        kakao_id = (await client.post("/v1/braze/messages", json=SEED_BODY, headers=ingest_headers())).json()[
            "messageId"
        ]
        for _ in range(2):  # the kakao send and its 3018 receipt, then the LMS and its receipt
            await app.state.dispatcher.run_once()
            await app.state.dispatcher.duty(SandboxCallbacks).run_once()
            await app.state.dispatcher.duty(ReceiptApplier).run_once()
        replay = await client.post(f"/v1/admin/messages/{kakao_id}/replay", headers=staff_headers(OPERATOR_TOKEN))
        assert replay.status_code == 202
        await client.get("/admin/sign-in")
        await client.post("/admin/sign-in", data={"token": "wrong", "_csrf_token": csrf(client)})
        await sign_in(client)
    finally:
        logging.getLogger().handlers.clear()
    text = stream.getvalue()
    lines = [msgspec.json.decode(line) for line in text.splitlines()]

    statuses = [(e["message_id"] == kakao_id, e["status"], e["level"]) for e in _events(lines, "message.status")]
    assert statuses == [
        (True, "queued", "debug"),
        (True, "sending", "debug"),
        (True, "accepted", "info"),
        (True, "fallback", "info"),
        (False, "sending", "debug"),
        (False, "accepted", "info"),
        (False, "delivered", "info"),
    ]
    fallback = _events(lines, "message.status")[3]
    assert (fallback["code"], fallback["child_id"]) == ("3018", _events(lines, "message.status")[4]["message_id"])
    assert [(e["receipt_state"], e["code"]) for e in _events(lines, "receipt.settled")] == [
        ("applied", "3018"),
        ("applied", "1000"),
    ]
    (replayed,) = _events(lines, "message.replayed")
    # A fallback message is replayed as its LMS.
    assert (replayed["message_id"], replayed["staff"]) == (fallback["child_id"], "bo")
    assert _events(lines, "console.sign_in_failed")[0]["level"] == "warning"
    assert [(e["staff"], e["role"]) for e in _events(lines, "console.sign_in")] == [("ann", "viewer")]
    for secret in (PHONE, "010-1234-5678", "wrong", OPERATOR_TOKEN):
        assert secret not in text


async def test_info_level_leaves_out_the_routine_steps(client: Client, app: Litestar) -> None:
    stream = io.StringIO()
    configure_logging("INFO", stream)
    try:
        await client.post("/v1/braze/messages", json=SEED_BODY, headers=ingest_headers())
        await app.state.dispatcher.run_once()
    finally:
        logging.getLogger().handlers.clear()
    lines = [msgspec.json.decode(line) for line in stream.getvalue().splitlines()]
    assert [e["status"] for e in _events(lines, "message.status")] == ["accepted"]


async def test_a_message_that_ends_dead_is_a_warning(client: Client, app: Litestar) -> None:
    stream = io.StringIO()
    configure_logging("INFO", stream)
    try:
        await send_dead(app, client)
    finally:
        logging.getLogger().handlers.clear()
    lines = [msgspec.json.decode(line) for line in stream.getvalue().splitlines()]
    assert [(e["status"], e["level"]) for e in _events(lines, "message.status")][-1] == ("dead", "warning")
