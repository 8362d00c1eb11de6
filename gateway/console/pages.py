"""What the console's templates show, built from the support API's views (so masking is the API's, unchanged).

Times are shown in KST, which is what the support staff and the users they talk to live in.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import msgspec

from gateway.api.filters import KST
from gateway.api.receipt_views import ReceiptView
from gateway.api.views import AttemptView, EventView, MessageDetailView

__all__ = ("Step", "kst", "kst_input", "pretty_json", "query_url", "timeline")


class Step(msgspec.Struct, frozen=True, kw_only=True):
    """One entry of a message's timeline.

    Attributes:
        at: ISO 8601 UTC time, for ordering (empty for entries without a time of their own).
        tone: ``ok``, ``bad`` or ``info``, for the colour of the marker.
        link: A message id to link to (fallback parent or child).
    """

    at: str
    title: str
    lines: tuple[str, ...] = ()
    tone: str = "info"
    link: str | None = None

    @property
    def when(self) -> str:
        return kst(self.at)


def kst(iso: str | None) -> str:
    """An ISO 8601 time from the API as ``2026-11-27 12:00:00`` in KST ("" for none)."""
    if not iso:
        return ""
    return datetime.fromisoformat(iso).astimezone(KST).strftime("%Y-%m-%d %H:%M:%S")


def kst_input(ts: float) -> str:
    """POSIX seconds as the value of a ``datetime-local`` input: KST, to the minute."""
    return datetime.fromtimestamp(ts, KST).strftime("%Y-%m-%dT%H:%M")


def pretty_json(value: Any) -> str:
    """``value`` as indented JSON, Hangul left readable."""
    return msgspec.json.format(msgspec.json.encode(value), indent=2).decode()


def query_url(path: str, params: Mapping[str, str | None], **changes: str | None) -> str:
    """``path`` with the non-empty ``params`` (updated by ``changes``) as its query string."""
    merged = {**params, **changes}
    query = urlencode({k: v for k, v in merged.items() if v})
    return f"{path}?{query}" if query else path


_FAILED_STATUSES = {"dead", "failed", "suppressed", "unknown"}
_OUTCOME_TONE = {"accepted": "ok", "retryable": "bad", "permanent": "bad", "error": "bad"}


def timeline(view: MessageDetailView) -> list[Step]:
    """received → normalised → attempts, status changes and receipts in time order → fallback links."""
    message = view.message
    first, *later = view.timeline
    received = Step(
        at=message.createdAt,
        title="수신 Received",
        lines=(f"{message.channel} · {message.vendor}", first.reason),
    )
    notes = tuple(view.normalised.notes) or ("변경 없음 nothing changed",)
    steps = [received, Step(at=message.createdAt, title="정규화 Normalised", lines=notes)]
    dated = [*map(_attempt_step, view.attempts), *map(_event_step, later), *map(_receipt_step, view.receipts)]
    steps += sorted(dated, key=lambda step: step.at)
    if message.parentId:
        steps.append(Step(at="", title="대체 발송 원본 Fallback from", link=message.parentId))
    if message.childId:
        steps.append(Step(at="", title="대체 발송 Fell back to", link=message.childId, tone="bad"))
    return steps


def _attempt_step(attempt: AttemptView) -> Step:
    http = f"HTTP {attempt.httpStatus}" if attempt.httpStatus is not None else "응답 없음 no answer"
    code = f"code {attempt.vendorCode}" if attempt.vendorCode else "no code"
    summary = f"{http} · {code} · {attempt.outcome} · {attempt.durationMs:g} ms"
    return Step(
        at=attempt.startedAt,
        title=f"시도 Attempt {attempt.number}",
        lines=(summary, attempt.detail) if attempt.detail else (summary,),
        tone=_OUTCOME_TONE.get(attempt.outcome, "info"),
    )


def _event_step(event: EventView) -> Step:
    tone = "bad" if event.status in _FAILED_STATUSES else "ok" if event.status in ("accepted", "delivered") else "info"
    return Step(at=event.at, title=f"상태 Status → {event.status}", lines=(event.reason,), tone=tone)


def _receipt_step(receipt: ReceiptView) -> Step:
    tone = {"delivered": "ok", "failed": "bad"}.get(receipt.outcome, "info")
    code = f" · code {receipt.code}" if receipt.code else ""
    lines = (f"{receipt.vendor} · {receipt.outcome}{code} · {receipt.state}", receipt.detail)
    return Step(at=receipt.occurredAt or receipt.receivedAt, title="수신 결과 Receipt", lines=lines, tone=tone)
