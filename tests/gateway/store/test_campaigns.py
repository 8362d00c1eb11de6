"""The campaign report's store queries, on both backends: counts, failures and percentiles computed in SQL."""

from __future__ import annotations

from typing import Any

from gateway.models import Attempt, AttemptOutcome, BrazeContext, NewMessage, Receipt, Status
from gateway.store import Store
from gateway.store.base import Settlement
from gateway.store.types_campaigns import CampaignSummary, FailureGroup, FunnelCount, LatencyGroup
from tests.gateway.store.factory import T0, new_message

WINDOW = 24 * 3600.0
CAMPAIGN = BrazeContext(campaign_id="c-report", campaign_name="autumn-best", dispatch_id="d-1")


def _message(channel: str = "kakao", *, at: float = T0, braze: BrazeContext = CAMPAIGN, **fields: Any) -> NewMessage:
    extra: dict[str, Any] = {} if channel == "kakao" else {"buttons": (), "fallback": "none", "ad": False}
    return new_message(channel=channel, created_at=at, braze=braze, **(extra | fields))


def _attempt(at: float, outcome: AttemptOutcome, code: str | None) -> Attempt:
    return Attempt(number=1, started_at=at, duration_ms=5.0, outcome=outcome, vendor_code=code)


async def _add(store: Store, new: NewMessage) -> str:
    await store.add(new, idempotency_window=WINDOW)
    return new.id


async def _accepted(store: Store, new: NewMessage) -> str:
    await _add(store, new)
    attempt = _attempt(new.created_at + 1, "accepted", "0")
    await store.transition(new.id, Status.ACCEPTED, "accepted", now=new.created_at + 1, attempt=attempt)
    return new.id


async def _delivered(store: Store, new: NewMessage, *, after: float) -> str:
    message_id = await _accepted(store, new)
    await store.transition(message_id, Status.DELIVERED, "delivered", now=new.created_at + after)
    return message_id


async def _failed_receipt(store: Store, message_id: str, code: str, *, at: float, status: Status | None) -> None:
    receipt = Receipt(vendor="nhn", event_id=f"e-{message_id}", outcome="failed", correlation_id=message_id, code=code)
    await store.add_receipts([receipt], now=at)
    [claimed] = await store.claim_receipts(now=at, limit=1, lease=60)
    settlement = Settlement(state="applied", message_id=message_id, status=status, reason=f"failed: {code}")
    assert await store.settle_receipts([(claimed.id, settlement)], now=at) == [None]


async def _campaign(store: Store) -> dict[str, str]:
    """Eleven messages of campaign c-report (one of them a fallback LMS) and one of another campaign."""
    ids = {
        "k1": await _delivered(store, _message(), after=10),
        "k2": await _delivered(store, _message(at=T0 + 1), after=30),
        "k3": await _accepted(store, _message(at=T0 + 2)),
        "k4": await _add(store, _message(at=T0 + 3)),
        "k5": await _add(store, _message(at=T0 + 4, status=Status.HELD, next_attempt_at=T0 + 9000)),
        "k6": await _accepted(store, _message(at=T0 + 5)),
        "l1": await _delivered(store, _message("lms", at=T0 + 6), after=5),
        "l2": await _accepted(store, _message("lms", at=T0 + 7)),
        "l3": await _add(store, _message("lms", at=T0 + 8)),
        "e1": await _add(store, _message("email", at=T0 + 9, phone=None, email="j@example.com", subject="s")),
        "other": await _delivered(store, _message(braze=BrazeContext(campaign_id="c-other")), after=1),
    }
    # k3: KakaoTalk cannot reach the user; it falls back to an LMS delivered 100 s after k3 was received.
    await _failed_receipt(store, ids["k3"], "3019", at=T0 + 50, status=None)
    child = _message("lms", at=T0 + 60, ad=True, status=Status.QUEUED)
    child = NewMessage(**{**{f: getattr(child, f) for f in child.__struct_fields__}, "parent_id": ids["k3"]})
    await store.link_fallback(ids["k3"], child, "fell back", now=T0 + 60)
    await store.transition(
        child.id, Status.ACCEPTED, "accepted", now=T0 + 61, attempt=_attempt(T0 + 61, "accepted", "0")
    )
    await store.transition(child.id, Status.DELIVERED, "delivered", now=T0 + 102)
    ids["k3-lms"] = child.id
    # k4 refused by the vendor; k6 never got a receipt; l2 failed by receipt; l3 retried until the budget ran out.
    await store.transition(
        ids["k4"], Status.DEAD, "refused", now=T0 + 4, attempt=_attempt(T0 + 4, "permanent", "-1001")
    )
    await store.transition(ids["k6"], Status.UNKNOWN, "no receipt", now=T0 + 90_000)
    await _failed_receipt(store, ids["l2"], "3008", at=T0 + 40, status=Status.FAILED)
    await store.transition(ids["l3"], Status.DEAD, "budget", now=T0 + 9, attempt=_attempt(T0 + 9, "retryable", "503"))
    await store.transition(ids["e1"], Status.SUPPRESSED, "quiet hours", now=T0 + 9)
    return ids


async def test_the_funnel_counts_messages_by_channel_origin_and_status(store: Store) -> None:
    await _campaign(store)

    data = await store.campaign_data("campaign_id", "c-report")

    assert data.messages == 11
    assert data.name == "autumn-best"
    assert (data.first_at, data.last_at) == (T0, T0 + 60)
    assert sorted(data.funnel, key=lambda f: (f.channel, f.origin, f.status)) == [
        FunnelCount("email", "braze", "suppressed", 1, 0),
        FunnelCount("kakao", "braze", "dead", 1, 0),
        FunnelCount("kakao", "braze", "delivered", 2, 2),
        FunnelCount("kakao", "braze", "fallback", 1, 1),
        FunnelCount("kakao", "braze", "held", 1, 0),
        FunnelCount("kakao", "braze", "unknown", 1, 1),
        FunnelCount("lms", "braze", "dead", 1, 0),
        FunnelCount("lms", "braze", "delivered", 1, 1),
        FunnelCount("lms", "braze", "failed", 1, 1),
        FunnelCount("lms", "fallback", "delivered", 1, 1),
    ]


async def test_failures_carry_the_receipt_code_else_the_last_failed_attempts(store: Store) -> None:
    await _campaign(store)

    data = await store.campaign_data("campaign_id", "c-report")

    def group(channel: str, status: str, outcome: str | None, code: str | None) -> FailureGroup:
        return FailureGroup(
            channel=channel, origin="braze", vendor="nhn", status=status, outcome=outcome, code=code, count=1
        )

    assert sorted(data.failures, key=lambda f: (f.channel, f.status)) == [
        group("kakao", "dead", "permanent", "-1001"),
        group("kakao", "fallback", "accepted", "3019"),
        group("kakao", "unknown", "accepted", None),
        group("lms", "dead", "retryable", "503"),
        group("lms", "failed", "accepted", "3008"),
    ]


async def test_time_to_delivery_percentiles_and_a_fallback_counts_from_its_kakao_message(store: Store) -> None:
    await _campaign(store)
    # Twenty more delivered LMS, 1..20 s after reception, beside l1's 5 s: of these 21 values, sorted, p50 is the
    # 11th (10 s) and p95 the 20th (19 s): nearest rank, ceil(p * n).
    for seconds in range(1, 21):
        await _delivered(
            store, _message("lms", at=T0 + 200 + seconds, braze=BrazeContext(campaign_id="c-report")), after=seconds
        )

    data = await store.campaign_data("campaign_id", "c-report")

    assert sorted(data.latency, key=lambda g: (g.channel, g.origin)) == [
        LatencyGroup(channel="kakao", origin="braze", delivered=2, p50=10.0, p95=30.0),
        LatencyGroup(channel="lms", origin="braze", delivered=21, p50=10.0, p95=19.0),
        LatencyGroup(channel="lms", origin="fallback", delivered=1, p50=100.0, p95=100.0),
    ]


async def test_a_report_by_dispatch_id_and_an_unknown_id(store: Store) -> None:
    await _campaign(store)
    await _delivered(store, _message(braze=BrazeContext(campaign_id="c-report", dispatch_id="d-2")), after=3)

    by_dispatch = await store.campaign_data("dispatch_id", "d-2")
    unknown = await store.campaign_data("campaign_id", "nope")

    assert by_dispatch.messages == 1
    assert by_dispatch.funnel == [FunnelCount("kakao", "braze", "delivered", 1, 1)]
    assert (unknown.messages, unknown.name, unknown.funnel, unknown.failures, unknown.latency) == (0, None, [], [], [])


async def test_recent_campaigns_latest_first_counting_a_delivered_fallback_as_reached(store: Store) -> None:
    await _campaign(store)
    await _delivered(
        store, _message(at=T0 + 500, braze=BrazeContext(campaign_id="c-late", campaign_name="late")), after=1
    )

    recent = await store.recent_campaigns(since=T0, until=T0 + 1000, limit=10)
    first_only = await store.recent_campaigns(since=T0, until=T0 + 1000, limit=1)
    none = await store.recent_campaigns(since=T0 + 1000, until=T0 + 2000, limit=10)
    # Only c-report's fallback LMS (T0 + 60) falls in this window: a campaign is listed by its Braze messages.
    late_only = await store.recent_campaigns(since=T0 + 50, until=T0 + 1000, limit=10)

    assert recent == [
        CampaignSummary(campaign_id="c-late", name="late", messages=1, reached=1, first_at=T0 + 500, last_at=T0 + 500),
        CampaignSummary(
            campaign_id="c-report", name="autumn-best", messages=10, reached=4, first_at=T0, last_at=T0 + 9
        ),
        CampaignSummary(campaign_id="c-other", name=None, messages=1, reached=1, first_at=T0, last_at=T0),
    ]
    assert [c.campaign_id for c in first_only] == ["c-late"]
    assert none == []
    assert [c.campaign_id for c in late_only] == ["c-late"]
