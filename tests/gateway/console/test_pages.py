"""The console's view helpers: KST times, query URLs and the message timeline."""

from __future__ import annotations

from typing import Any

import msgspec

from gateway.api.receipt_views import ReceiptView
from gateway.api.views import AttemptView, EventView, MessageDetailView, MessageView, NormalisedView
from gateway.console.changes import Change
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
        ("상태 Status → 발송 불가 dead", "2026-11-27 12:00:02", "bad"),
    ]
    assert steps[1].lines == ("removed 1 emoji",)
    assert steps[2].lines == (
        "HTTP 200 · code -3006 · 영구 오류 permanent · 12.5 ms",
        "버튼 링크가 http(s)로 시작하지 않음 · a button link does not start with http(s)",
        "link lacks http(s)",
    )
    assert steps[3].lines == ("발송사가 거절함 (다시 보내도 같은 결과)", "rejected by nhn: -3006")


def test_changes_normalisation_made_are_named_and_nothing_changed_only_without_them() -> None:
    plain = _view(normalised=NormalisedView(channel="kakao", user_id="u-1", content="본문"))

    assert timeline(plain)[1].lines == ("변경 없음 nothing changed",)
    changed = timeline(plain, changes=[Change("buttonLinkMobile", "https://x.kr/a b", "https://x.kr/a%20b")])
    assert changed[1].lines == ("buttonLinkMobile: 바뀜 changed",)


def _fallback_pair() -> tuple[MessageDetailView, MessageDetailView]:
    """A kakao message that fell back at 12:00:03 KST, and its LMS: delivered, replayed, delivered again."""
    kakao = _view(
        message=msgspec.structs.replace(_view().message, status="fallback", childId="m-2"),
        attempts=[],
        timeline=[
            EventView(at="2026-11-27T03:00:00.000Z", status="queued", reason="received"),
            EventView(at="2026-11-27T03:00:03.000Z", status="fallback", reason="not reachable by KakaoTalk: 3018"),
        ],
    )
    lms = _view(
        message=msgspec.structs.replace(
            _view().message, messageId="m-2", channel="lms", status="delivered", parentId="m-1"
        ),
        attempts=[],
        timeline=[
            EventView(at="2026-11-27T03:00:03.000Z", status="queued", reason="fallback from kakao message m-1"),
            EventView(at="2026-11-27T03:00:05.000Z", status="delivered", reason="delivered: nhn 1000"),
            EventView(at="2026-11-27T04:00:00.000Z", status="queued", reason="replayed by bo"),
            EventView(at="2026-11-27T04:00:02.000Z", status="delivered", reason="delivered: nhn 1000"),
        ],
    )
    return kakao, lms


def test_a_fallback_links_its_lms_when_it_happened_and_shows_what_became_of_it() -> None:
    kakao, lms = _fallback_pair()

    steps = timeline(kakao, child=lms)

    assert [(s.when, s.title, s.link) for s in steps[2:]] == [
        ("2026-11-27 12:00:03", "상태 Status → 대체 발송 fallback", "m-2"),
        ("2026-11-27 12:00:05", "대체 LMS Fallback LMS → 전달됨 delivered", "m-2"),
        ("2026-11-27 13:00:00", "대체 LMS Fallback LMS → 대기 queued", "m-2"),
        ("2026-11-27 13:00:02", "대체 LMS Fallback LMS → 전달됨 delivered", "m-2"),
    ]
    assert steps[4].lines == ("직원이 재발송함", "replayed by bo")
    assert all(step.when for step in steps)


def test_an_lms_of_a_fallback_links_its_kakao_message_where_it_starts() -> None:
    _, lms = _fallback_pair()

    first = timeline(lms)[0]

    assert (first.title, first.link, first.when) == (
        "대체 발송으로 생성 Created as a fallback of",
        "m-1",
        "2026-11-27 12:00:00",
    )


def test_a_retrying_message_shows_its_next_attempt_in_kst() -> None:
    message = msgspec.structs.replace(_view().message, status="retrying", nextAttemptAt="2026-11-27T03:11:00.000Z")
    events = [*_view().timeline[:1], EventView(at="2026-11-27T03:00:02.000Z", status="retrying", reason="x")]

    step = timeline(_view(message=message, timeline=events))[-1]

    assert step.lines[-1] == "다음 시도 Next attempt 2026-11-27 12:11:00 KST"


def test_an_attempt_without_an_answer_says_so() -> None:
    attempt = msgspec.structs.replace(_view().attempts[0], httpStatus=None, vendorCode=None, outcome="retryable")

    [step] = [s for s in timeline(_view(attempts=[attempt])) if s.title.startswith("시도")]

    assert step.lines[0] == "응답 없음 no answer · no code · 일시 오류 retryable · 12.5 ms"


def test_receipts_take_their_place_by_arrival_with_their_code_explained() -> None:
    receipt = ReceiptView(
        vendor="nhn",
        eventId="hook-1",
        outcome="failed",
        code="3019",
        detail="not a KakaoTalk user",
        state="applied",
        occurredAt="2026-11-27T03:00:00.500Z",
        receivedAt="2026-11-27T03:00:01.500Z",
        settledAt=None,
    )

    steps = timeline(_view(receipts=[receipt]))

    assert [s.title for s in steps[2:]] == ["시도 Attempt 1", "수신 결과 Receipt", "상태 Status → 발송 불가 dead"]
    assert steps[3].lines == (
        "nhn · 전달 실패 failed · code 3019 · 반영됨 applied",
        "카카오톡 사용자가 아님: LMS 대체 발송 대상 · not a KakaoTalk user: falls back to LMS",
        "not a KakaoTalk user",
        "발송사 시각 Vendor time 2026-11-27 12:00:00",
    )
    assert steps[3].tone == "bad"
