"""Korean words for the API's English vocabulary: states, outcomes and the reasons on a message's timeline.

The console shows the Korean label first and keeps the English term beside it (it is what the JSON API, the
logs and the README say), so staff can talk to each other and search the docs with the same words.
"""

from __future__ import annotations

import re

__all__ = ("outcome_label", "reason_label", "status_label")

_STATUS = {
    "queued": "대기",
    "sending": "발송 중",
    "accepted": "발송사 접수",
    "delivered": "전달됨",
    "failed": "전달 실패",
    "retrying": "재시도 예정",
    "held": "보류 (발송 금지 시간)",
    "suppressed": "발송 안 함",
    "dead": "발송 불가",
    "fallback": "대체 발송",
    "unknown": "결과 모름",
    # Not a message state: refused ingests are searched beside the states.
    "refused": "수신 거부 (보내지 않음)",
}
# Attempt outcomes, receipt outcomes and what a receipt did.
_OUTCOME = {
    "accepted": "접수",
    "retryable": "일시 오류",
    "permanent": "영구 오류",
    "error": "게이트웨이 내부 오류",
    "uncertain": "결과 불확실 (발송사에 조회)",
    "lookup": "발송사 조회",
    "delivered": "전달됨",
    "failed": "전달 실패",
    "progress": "진행 중",
    "applied": "반영됨",
    "late": "종료 후 도착, 반영 안 함",
    "pending": "매칭 대기",
    "unmatched": "매칭 안 됨",
}
# The reasons the dispatcher, the receipt applier, the sweep and staff actions write, by how they start.
_REASONS = (
    (re.compile(r"received"), "수신"),
    (re.compile(r"accepted by "), "발송사가 접수함"),
    (re.compile(r"rejected by .*; sent on as LMS"), "발송사가 거절해 LMS로 대체 발송함"),
    (re.compile(r"rejected by "), "발송사가 거절함 (다시 보내도 같은 결과)"),
    (re.compile(r"attempt \d+ failed"), "시도 실패, 다시 시도할 예정"),
    (re.compile(r"attempt \d+: outcome uncertain"), "결과 불확실: 다시 보내기 전에 발송사에 조회함"),
    (re.compile(r"attempt \d+: a call to .* its process stopped"), "발송 중 프로세스 중단: 발송사에 조회함"),
    (re.compile(r"lookup \d+ of attempt \d+: .* has the message"), "조회 결과 발송사가 접수함: 다시 보내지 않음"),
    (re.compile(r"lookup \d+ of attempt \d+: .* does not have the message"), "조회 결과 발송사에 없음: 다시 보냄"),
    (
        re.compile(r"lookup \d+ of attempt \d+: .* could not tell"),
        "끝내 확인되지 않음: 알 수 없음으로 종료",
    ),
    (re.compile(r"lookup \d+ of attempt \d+: "), "발송사가 아직 확인해 주지 않음: 다시 조회할 예정"),
    (re.compile(r"retries exhausted"), "재시도 한도를 넘겨 포기함"),
    (re.compile(r"internal error \d+ of \d+; giving up"), "게이트웨이 내부 오류가 반복되어 포기함"),
    (re.compile(r"internal error"), "게이트웨이 내부 오류: 다시 시도할 예정"),
    (re.compile(r"suppressed: "), "광고 발송 금지 시간이라 보내지 않음"),
    (re.compile(r"held: "), "광고 발송 금지 시간이라 시간이 되면 보냄"),
    (re.compile(r"not reachable by KakaoTalk"), "카카오톡으로 받을 수 없는 사용자: LMS로 대체 발송함"),
    (re.compile(r"Kakao could not deliver it for now"), "카카오 시스템 장애: 다시 보냄"),
    (re.compile(r"in progress: "), "발송사 진행 상황"),
    (re.compile(r"receipt after the message ended"), "종료 후 도착한 결과: 반영하지 않음"),
    (re.compile(r"delivered: "), "발송사가 전달을 확인함"),
    (re.compile(r"failed: "), "발송사가 전달 실패를 알림"),
    (re.compile(r"no delivery receipt within"), "기한 안에 발송 결과가 오지 않음"),
    (re.compile(r"replayed by "), "직원이 재발송함"),
    (re.compile(r"fallback from kakao message"), "카카오 메시지를 대신하는 LMS"),
    (re.compile(r"personal data erased"), "요청에 따라 개인정보 삭제"),
    (re.compile(r".* is not configured for "), "이 게이트웨이에 발송사 설정이 없음"),
)


def status_label(status: str) -> str:
    """The Korean name of a message state (the state itself when it has none)."""
    return _STATUS.get(status, status)


def outcome_label(outcome: str) -> str:
    """The Korean name of an attempt's or a receipt's outcome, or of what a receipt did."""
    return _OUTCOME.get(outcome, outcome)


def reason_label(reason: str) -> str | None:
    """What a timeline reason says, in Korean; ``None`` for a reason the console has no words for."""
    return next((korean for pattern, korean in _REASONS if pattern.match(reason)), None)
