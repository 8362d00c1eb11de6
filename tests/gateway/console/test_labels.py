"""Korean words for the API's states, outcomes and timeline reasons."""

from __future__ import annotations

from typing import get_args

import pytest

from gateway.console.labels import outcome_label, reason_label, status_label
from gateway.models import AttemptOutcome, ReceiptOutcome, ReceiptState, Status


def _hangul(text: str) -> bool:
    return any("가" <= char <= "힣" for char in text)


@pytest.mark.parametrize("status", list(Status))
def test_every_state_has_a_korean_label(status: Status) -> None:
    assert _hangul(status_label(status.value))


@pytest.mark.parametrize("outcome", [*get_args(AttemptOutcome), *get_args(ReceiptOutcome), *get_args(ReceiptState)])
def test_every_outcome_has_a_korean_label(outcome: str) -> None:
    assert _hangul(outcome_label(outcome))


@pytest.mark.parametrize(
    ("reason", "korean"),
    [
        ("received", "수신"),
        ("accepted by nhn as req-1", "발송사가 접수함"),
        ("rejected by nhn: -3006 link lacks http(s)", "발송사가 거절함 (다시 보내도 같은 결과)"),
        ("rejected by nhn: -3006 link; sent on as LMS m-2", "발송사가 거절해 LMS로 대체 발송함"),
        ("attempt 1 failed (-9999 system error); next attempt scheduled", "시도 실패, 다시 시도할 예정"),
        ("retries exhausted after 9 attempts: -9999", "재시도 한도를 넘겨 포기함"),
        (
            "not reachable by KakaoTalk: nhn 3018; sent on as LMS m-2",
            "카카오톡으로 받을 수 없는 사용자: LMS로 대체 발송함",
        ),
        ("Kakao could not deliver it for now (nhn 9999); sending again", "카카오 시스템 장애: 다시 보냄"),
        ("delivered: nhn 1000 success", "발송사가 전달을 확인함"),
        ("failed: nhn 3019 not a KakaoTalk user", "발송사가 전달 실패를 알림"),
        ("no delivery receipt within 1 day of acceptance: final state unknown", "기한 안에 발송 결과가 오지 않음"),
        ("replayed by bo", "직원이 재발송함"),
        ("internal error 1 of 5; next attempt scheduled", "게이트웨이 내부 오류: 다시 시도할 예정"),
        ("internal error 5 of 5; giving up", "게이트웨이 내부 오류가 반복되어 포기함"),
        (
            "held: advertising is not sent 20:50-08:00 KST; sending when the window opens",
            "광고 발송 금지 시간이라 시간이 되면 보냄",
        ),
    ],
)
def test_timeline_reasons_read_in_korean(reason: str, korean: str) -> None:
    assert reason_label(reason) == korean


def test_a_reason_without_words_is_shown_in_english_only() -> None:
    assert reason_label("something new") is None
