"""The console's view helpers: KST times, query URLs and the message timeline."""

from __future__ import annotations

from typing import Any

import msgspec

from gateway.api.receipt_views import ReceiptView
from gateway.api.views import AttemptView, EventView, MessageDetailView, MessageView, NormalisedView
from gateway.console.pages import kst, kst_input, pretty_json, query_url, timeline

NOON_KST = 1_795_748_400.0  # 2026-11-27 12:00 KST


def _view(**changes: Any) -> MessageDetailView:
    message = MessageView(
        messageId="m-1",
        status="dead",
        channel="kakao",
        vendor="nhn",
        userId="u-1",
        phone="010-****-5678",
        email=None,
        campaignId="c1",
        campaignName=None,
        dispatchId=None,
        createdAt="2026-11-27T03:00:00.000Z",
        updatedAt="2026-11-27T03:00:02.000Z",
        nextAttemptAt=None,
        attemptCount=1,
        vendorMessageId=None,
        parentId=None,
        childId=None,
    )
    view = MessageDetailView(
        message=message,
        normalised=NormalisedView(channel="kakao", user_id="u-1", content="본문", notes=["removed 1 emoji"]),
        vendorRequest=None,
        attempts=[
            AttemptView(
                number=1,
                startedAt="2026-11-27T03:00:01.000Z",
                durationMs=12.5,
                outcome="permanent",
                httpStatus=200,
                vendorCode="-3006",
                detail="link lacks http(s)",
            )
        ],
        timeline=[
            EventView(at="2026-11-27T03:00:00.000Z", status="queued", reason="received"),
            EventView(at="2026-11-27T03:00:02.000Z", status="dead", reason="rejected by nhn: -3006"),
        ],
    )
    return msgspec.structs.replace(view, **changes)


def test_times_are_shown_in_kst() -> None:
    assert kst("2026-11-27T03:00:00.000Z") == "2026-11-27 12:00:00"
    assert kst(None) == ""
    assert kst_input(NOON_KST) == "2026-11-27T12:00"


def test_query_urls_keep_only_the_given_values() -> None:
    assert query_url("/admin/messages", {"userId": "u 1", "phone": None, "status": ""}, cursor="c") == (
        "/admin/messages?userId=u+1&cursor=c"
    )
    assert query_url("/admin/messages", {"status": ""}) == "/admin/messages"


def test_pretty_json_keeps_hangul_readable() -> None:
    assert pretty_json({"content": "안녕"}) == '{\n  "content": "안녕"\n}'


def test_the_timeline_reads_received_normalised_then_attempts_and_states_in_order() -> None:
    steps = timeline(_view())

    assert [(s.title, s.when, s.tone) for s in steps] == [
        ("수신 Received", "2026-11-27 12:00:00", "info"),
        ("정규화 Normalised", "2026-11-27 12:00:00", "info"),
        ("시도 Attempt 1", "2026-11-27 12:00:01", "bad"),
        ("상태 Status → dead", "2026-11-27 12:00:02", "bad"),
    ]
    assert steps[1].lines == ("removed 1 emoji",)
    assert steps[2].lines == ("HTTP 200 · code -3006 · permanent · 12.5 ms", "link lacks http(s)")


def test_the_timeline_ends_with_the_fallback_links() -> None:
    view = _view(message=msgspec.structs.replace(_view().message, parentId="m-0", childId="m-2"))

    steps = timeline(view)

    assert [(s.title, s.link) for s in steps[-2:]] == [
        ("대체 발송 원본 Fallback from", "m-0"),
        ("대체 발송 Fell back to", "m-2"),
    ]


def test_an_attempt_without_an_answer_says_so() -> None:
    attempt = msgspec.structs.replace(_view().attempts[0], httpStatus=None, vendorCode=None, outcome="retryable")

    [step] = [s for s in timeline(_view(attempts=[attempt])) if s.title.startswith("시도")]

    assert step.lines[0] == "응답 없음 no answer · no code · retryable · 12.5 ms"


def test_receipts_take_their_place_in_time() -> None:
    receipt = ReceiptView(
        vendor="nhn",
        eventId="hook-1",
        outcome="failed",
        code="3018",
        detail="cannot deliver",
        state="applied",
        occurredAt="2026-11-27T03:00:01.500Z",
        receivedAt="2026-11-27T03:00:05.000Z",
        settledAt=None,
    )

    steps = timeline(_view(receipts=[receipt]))

    assert [s.title for s in steps[2:]] == ["시도 Attempt 1", "수신 결과 Receipt", "상태 Status → dead"]
    assert steps[3].lines == ("nhn · failed · code 3018 · applied", "cannot deliver")
    assert steps[3].tone == "bad"
