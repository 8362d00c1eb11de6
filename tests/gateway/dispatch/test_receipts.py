"""The receipt applier against a sandboxed gateway: receipts are stored directly, then applied by hand."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from adapters.contract import Reason
from adapters.emulator import Fault
from gateway.app import create_app
from gateway.dispatch.receipts import ReceiptApplier
from gateway.models import MessageDetail, Receipt, Status, StoredMessage
from gateway.store.sqlite import SqliteStore
from tests.conftest import BRAZE, SEED_BODY, Clock, ingest_headers, make_settings

Client = AsyncTestClient[Litestar]


@pytest.fixture
def app(tmp_path: Path, clock: Clock) -> Litestar:
    return create_app(make_settings(tmp_path, **BRAZE), clock=clock, start_dispatcher=False)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[Client]:
    async with AsyncTestClient(app) as test_client:
        yield test_client


async def sent(client: Client, app: Litestar, **changes: str) -> str:
    """Ingest the seed message (with ``changes``) and send it; return its id."""
    response = await client.post("/v1/braze/messages", json=SEED_BODY | changes, headers=ingest_headers())
    assert response.status_code == 202, response.text
    await app.state.dispatcher.run_once()
    return str(response.json()["messageId"])


async def report(app: Litestar, message_id: str, code: str, *, event: str, vendor: str = "nhn", **fields: Any) -> None:
    outcome = {"1000": "delivered", "4000": "delivered", "3000": "progress"}.get(code, "failed")
    receipt = Receipt(vendor=vendor, event_id=event, outcome=outcome, correlation_id=message_id, code=code, **fields)  # type: ignore[arg-type]
    await app.state.store.add_receipts([receipt], now=app.state.clock())


async def apply(app: Litestar) -> int:
    count: int = await app.state.dispatcher.duty(ReceiptApplier).run_once()
    return count


async def record(app: Litestar, message_id: str) -> StoredMessage:
    detail: MessageDetail = await app.state.store.get(message_id)
    return detail.record


async def test_delivered_and_failed_end_the_message_and_queue_braze_feedback(client: Client, app: Litestar) -> None:
    delivered = await sent(client, app, dispatchId="d-1")
    failed = await sent(client, app, dispatchId="d-2", fallback="none")
    await report(app, delivered, "1000", event="h1")
    await report(app, failed, "3022", event="h2", detail="outside sending hours")

    assert await apply(app) == 2

    assert (await record(app, delivered)).status is Status.DELIVERED
    assert (await record(app, failed)).status is Status.FAILED
    feedback = await app.state.store.claim_feedback(now=app.state.clock(), limit=10, lease=60)
    assert sorted((f.record.id, f.state, f.code) for f in feedback) == sorted(
        [(delivered, Status.DELIVERED, "1000"), (failed, Status.FAILED, "3022")]
    )


async def test_a_message_that_failed_to_answer_but_was_taken_is_delivered_and_not_sent_again(
    client: Client, app: Litestar, clock: Clock
) -> None:
    app.state.runtime.emulators["nhn_kakao"].script(*[Fault(timeout=True)] * 3)
    message_id = await sent(client, app)
    assert (await record(app, message_id)).status is Status.RETRYING
    await report(app, message_id, "1000", event="h1")

    await apply(app)
    clock.advance(3600)

    assert (await record(app, message_id)).status is Status.DELIVERED
    assert await app.state.dispatcher.run_once() == 0


async def test_an_undeliverable_kakao_receipt_falls_back_once(client: Client, app: Litestar) -> None:
    message_id = await sent(client, app)
    await report(app, message_id, "3018", event="h1")
    await report(app, message_id, "3019", event="h2")

    await apply(app)
    parent = await app.state.store.get(message_id)

    assert parent.record.status is Status.FALLBACK
    assert [(r.receipt.code, r.state) for r in parent.receipts] == [("3018", "applied"), ("3019", "late")]
    assert await app.state.store.count_by_status() == {Status.FALLBACK: 1, Status.QUEUED: 1}
    child = await record(app, parent.record.child_id)
    assert (child.channel, child.parent_id, child.message.fallback) == ("lms", message_id, "none")


@pytest.mark.parametrize(
    ("vendor", "code", "status"),
    [
        ("solapi", "3104", Status.FALLBACK),
        ("solapi", "3018", Status.FAILED),
        ("nhn", "3104", Status.FAILED),
        ("nhn", "3022", Status.FAILED),
        ("nhn", "1021", Status.FAILED),
    ],
)
async def test_only_the_vendor_s_undeliverable_codes_fall_back(
    client: Client, app: Litestar, vendor: str, code: str, status: Status
) -> None:
    message_id = await sent(client, app, vendor=vendor)
    await report(app, message_id, code, event="e1", vendor=vendor)

    await apply(app)

    assert (await record(app, message_id)).status is status


async def test_progress_is_noted_without_ending_the_message(client: Client, app: Litestar) -> None:
    message_id = await sent(client, app, vendor="solapi")
    await report(app, message_id, "3000", event="e1", vendor="solapi", detail="이통사로 접수 예정")

    await apply(app)
    detail = await app.state.store.get(message_id)

    assert detail.record.status is Status.ACCEPTED
    assert detail.events[-1].reason == "in progress: solapi 3000 이통사로 접수 예정"
    assert await app.state.store.claim_feedback(now=app.state.clock(), limit=10, lease=60) == []


async def test_a_receipt_for_an_unknown_message_is_tried_again_later_and_later(
    client: Client, app: Litestar, clock: Clock
) -> None:
    await report(app, "nobody", "1000", event="h1")

    for delay in (1, 2, 4, 8):
        assert await apply(app) == 1
        clock.advance(delay - 0.5)
        assert await apply(app) == 0
        clock.advance(0.5)


async def test_a_message_moved_meanwhile_leaves_the_receipt_for_the_next_pass(
    client: Client, app: Litestar, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    message_id = await sent(client, app)
    await report(app, message_id, "1000", event="h1")
    store = app.state.store
    find = store.find_receipt_messages

    async def find_then_move(receipts: list[Receipt]) -> list[StoredMessage | None]:
        found: list[StoredMessage | None] = await find(receipts)
        await store.transition(message_id, Status.SENDING, "test: someone else took it", now=clock())
        return found

    monkeypatch.setattr(store, "find_receipt_messages", find_then_move)
    await apply(app)
    monkeypatch.setattr(store, "find_receipt_messages", find)
    await store.transition(message_id, Status.ACCEPTED, "test: accepted after all", now=clock())
    assert await apply(app) == 0  # deferred by a second
    clock.advance(1)
    await apply(app)

    assert (await record(app, message_id)).status is Status.DELIVERED


@pytest.fixture
async def either_store(database_url: str, tmp_path: Path, clock: Clock) -> AsyncIterator[tuple[Client, Litestar]]:
    """A client of a sandboxed gateway with Braze feedback, on each store."""
    settings = make_settings(tmp_path, GATEWAY_DATABASE_URL=database_url, **BRAZE)
    app = create_app(settings, clock=clock, start_dispatcher=False)
    async with AsyncTestClient(app) as test_client:
        yield test_client, app


async def test_one_batch_settles_every_kind_of_receipt_in_one_transaction(
    either_store: tuple[Client, Litestar], clock: Clock
) -> None:
    client, app = either_store
    delivered = await sent(client, app, dispatchId="d-1")
    failed = await sent(client, app, dispatchId="d-2", fallback="none")
    progress = await sent(client, app, dispatchId="d-3", vendor="solapi")
    falls_back = await sent(client, app, dispatchId="d-4")
    await report(app, delivered, "1000", event="h1")
    await report(app, failed, "3022", event="h2")
    await report(app, progress, "3000", event="e3", vendor="solapi")
    await report(app, falls_back, "3018", event="h4")
    await report(app, falls_back, "3019", event="h5")  # after its fallback in the same batch: late
    await report(app, delivered, "1000", event="h6")  # after its delivery in the same batch: late
    await report(app, "nobody", "1000", event="h7")
    store = app.state.store
    commits = getattr(store, "commit_count", 0)

    assert await apply(app) == 7

    if isinstance(store, SqliteStore):  # the claim, the fallback's link, the batch's settlements, the deferral
        assert store.commit_count - commits == 4
    states = {m: (await record(app, m)).status for m in (delivered, failed, progress, falls_back)}
    assert states == {
        delivered: Status.DELIVERED,
        failed: Status.FAILED,
        progress: Status.ACCEPTED,
        falls_back: Status.FALLBACK,
    }
    receipts = [r for m in states for r in (await store.get(m)).receipts]
    assert sorted((r.receipt.event_id, r.state) for r in receipts) == [
        ("e3", "progress"),
        ("h1", "applied"),
        ("h2", "applied"),
        ("h4", "applied"),
        ("h5", "late"),
        ("h6", "late"),
    ]
    late = (await store.get(delivered)).events[-1]
    assert (late.status, late.reason) == (
        Status.DELIVERED,
        "receipt after the message ended delivered, not applied: nhn 1000",
    )
    child = await record(app, (await record(app, falls_back)).child_id)  # type: ignore[arg-type]
    assert (child.channel, child.status) == ("lms", Status.QUEUED)
    clock.advance(1)
    [waiting] = await store.claim_receipts(now=clock(), limit=10, lease=60)
    assert (waiting.receipt.event_id, waiting.tries) == ("h7", 1)


async def test_a_failing_fallback_does_not_hold_up_the_others(
    client: Client, app: Litestar, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = await sent(client, app, dispatchId="d-1")
    bad = await sent(client, app, dispatchId="d-2")
    await report(app, good, "1000", event="h1")
    await report(app, bad, "3018", event="h2")
    dispatcher = app.state.dispatcher
    fall_back = dispatcher.fall_back

    async def fail(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("unexpected")

    monkeypatch.setattr(dispatcher, "fall_back", fail)
    applier = ReceiptApplier(app.state.store, dispatcher.fall_back, app.state.settings, clock=clock)
    await applier.run_once()

    assert (await record(app, good)).status is Status.DELIVERED
    assert (await record(app, bad)).status is Status.ACCEPTED
    clock.advance(60)  # the claim's lease runs out
    await ReceiptApplier(app.state.store, fall_back, app.state.settings, clock=clock).run_once()
    assert (await record(app, bad)).status is Status.FALLBACK


async def test_kakao_system_trouble_sends_the_message_again_once_nhn_forgets_the_key(
    client: Client, app: Litestar, clock: Clock
) -> None:
    message_id = await sent(client, app)
    accepted_at = (await record(app, message_id)).updated_at
    await report(app, message_id, "9999", event="h1")

    assert await apply(app) == 1
    waiting = await record(app, message_id)
    assert (waiting.status, waiting.next_attempt_at) == (Status.RETRYING, accepted_at + 660)

    emulator = app.state.runtime.emulators["nhn_kakao"]
    emulator.reset()  # ten minutes on NHN's side: the idempotency key is forgotten
    clock.advance(659)
    assert await app.state.dispatcher.run_once() == 0
    clock.advance(2)
    assert await app.state.dispatcher.run_once() == 1
    again = await record(app, message_id)
    assert (again.status, again.attempt_count, len(emulator.requests)) == (Status.ACCEPTED, 2, 1)


async def test_kakao_system_trouble_beyond_the_retry_budget_fails_the_message(tmp_path: Path, clock: Clock) -> None:
    app = create_app(make_settings(tmp_path, GATEWAY_RETRY_BUDGET="600"), clock=clock, start_dispatcher=False)
    async with AsyncTestClient(app) as client:
        message_id = await sent(client, app)
        await report(app, message_id, "9998", event="h1")

        assert await apply(app) == 1
        assert (await record(app, message_id)).status is Status.FAILED


async def test_without_braze_configured_no_feedback_is_queued(tmp_path: Path, clock: Clock) -> None:
    app = create_app(make_settings(tmp_path), clock=clock, start_dispatcher=False)
    async with AsyncTestClient(app) as client:
        delivered = await sent(client, app, dispatchId="d-1")
        failed = await sent(client, app, dispatchId="d-2", fallback="none")
        await report(app, delivered, "1000", event="h1")
        await report(app, failed, "3022", event="h2")

        assert await apply(app) == 2
        assert (await record(app, delivered)).status is Status.DELIVERED
        assert await app.state.store.claim_feedback(now=clock(), limit=10, lease=60) == []


@pytest.mark.parametrize(("reason", "status"), [(Reason.UNREACHABLE, Status.FALLBACK), (Reason.BLOCKED, Status.FAILED)])
async def test_the_fallback_reads_the_reason_the_vendor_s_parser_gave_not_the_code(
    client: Client, app: Litestar, reason: Reason, status: Status
) -> None:
    message_id = await sent(client, app)
    # 3019 alone would mean "not a KakaoTalk user"; the parser's reason is what counts.
    await report(app, message_id, "3019", event="h1", reason=reason)

    await apply(app)

    assert (await record(app, message_id)).status is status
