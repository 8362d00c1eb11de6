"""What the console's templates show, built from the support API's views (so masking is the API's, unchanged).

Times are shown in KST, which is what the support staff and the users they talk to live in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import msgspec

from adapters.codes import explain_code
from gateway.api.filters import KST
from gateway.api.masking import mask_email, mask_phone
from gateway.api.receipt_views import ReceiptView
from gateway.api.views import AttemptView, EventView, MessageDetailView, MessageView
from gateway.console.changes import Change
from gateway.console.labels import outcome_label, reason_label, status_label
from gateway.models import StoredMessage

__all__ = ("Preview", "Step", "kst", "kst_input", "masker", "pretty_json", "preview", "query_url", "timeline")


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


class Preview(msgspec.Struct, frozen=True, kw_only=True):
    """The message as its recipient saw it: a kakao bubble, an LMS, or an email (``text`` is then its HTML).

    Attributes:
        title: The LMS title or the email subject as sent to the vendor.
        buttons: ``(name, link)`` of each kakao button, the mobile link (a phone shows that one).
    """

    channel: str
    text: str
    title: str | None = None
    buttons: tuple[tuple[str, str], ...] = ()
    image_url: str | None = None


def masker(record: StoredMessage, *, reveal: bool) -> Callable[[str], str]:
    """A function that masks ``record``'s phone number and email in a text, as the API's views do."""
    found = (record.message.phone, mask_phone), (record.message.email, mask_email)
    pairs = [] if reveal else [(secret, mask(secret) or "") for secret, mask in found if secret]

    def mask_text(text: str) -> str:
        for secret, masked in pairs:
            text = text.replace(secret, masked)
        return text

    return mask_text


def preview(record: StoredMessage, mask: Callable[[str], str]) -> Preview:
    """What the recipient got: the normalised message (final, with the LMS advertising lines), titled as sent."""
    message = record.message
    sent = (record.vendor_request or {}).get("body")
    title = _first_value(sent, ("title", "subject")) or message.subject
    return Preview(
        channel=message.channel,
        text=mask(message.content),
        title=mask(title) if title and message.channel != "kakao" else None,
        buttons=tuple((button.name, button.link_mobile) for button in message.buttons),
        image_url=message.image_url,
    )


def _first_value(value: Any, keys: tuple[str, ...]) -> str | None:
    """The first string under one of ``keys`` anywhere in a vendor request body (vendors name the title either way)."""
    if isinstance(value, dict):
        for key in keys:
            if isinstance(value.get(key), str):
                return str(value[key])
        value = list(value.values())
    if isinstance(value, list):
        return next((found for item in value if (found := _first_value(item, keys))), None)
    return None


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
_OUTCOME_TONE = {"accepted": "ok", "retryable": "bad", "permanent": "bad", "error": "bad", "uncertain": "bad"}


def timeline(
    view: MessageDetailView, *, changes: Sequence[Change] = (), child: MessageDetailView | None = None
) -> list[Step]:
    """received → normalised → attempts, status changes and receipts in time order.

    A message that fell back links its LMS at the moment it fell back, and ``child`` (that LMS) adds what became
    of it later (sent, delivered, replayed) with their times; an LMS links its kakao message where it starts.
    """
    message = view.message
    first, *later = view.timeline
    received = Step(
        at=message.createdAt,
        title="대체 발송으로 생성 Created as a fallback of" if message.parentId else "수신 Received",
        lines=(
            f"{message.channel} · {message.vendor}",
            *(_reason_lines(first.reason) if first.reason != "received" else ()),
        ),
        link=message.parentId,
    )
    notes = (*view.normalised.notes, *(f"{change.field}: 바뀜 changed" for change in changes))
    normalised = Step(at=message.createdAt, title="정규화 Normalised", lines=notes or ("변경 없음 nothing changed",))
    vendor, channel = message.vendor, message.channel
    dated = [
        *(_attempt_step(attempt, vendor, channel) for attempt in view.attempts),
        *(_event_step(event, message) for event in later),
        *(_receipt_step(receipt, channel) for receipt in view.receipts),
    ]
    if child is not None:
        dated += [_child_step(event, child.message) for event in child.timeline[1:]]
    return [received, normalised, *sorted(dated, key=lambda step: step.at)]


def _reason_lines(reason: str) -> tuple[str, ...]:
    korean = reason_label(reason)
    return (korean, reason) if korean else (reason,)


def _code_lines(vendor: str, channel: str, code: str | None) -> tuple[str, ...]:
    explained = explain_code(vendor, channel, code)
    return (explained,) if explained else ()


def _attempt_step(attempt: AttemptView, vendor: str, channel: str) -> Step:
    http = f"HTTP {attempt.httpStatus}" if attempt.httpStatus is not None else "응답 없음 no answer"
    code = f"code {attempt.vendorCode}" if attempt.vendorCode else "no code"
    outcome = f"{outcome_label(attempt.outcome)} {attempt.outcome}"
    summary = f"{http} · {code} · {outcome} · {attempt.durationMs:g} ms"
    detail = (attempt.detail,) if attempt.detail else ()
    return Step(
        at=attempt.startedAt,
        title=f"시도 Attempt {attempt.number}",
        lines=(summary, *_code_lines(vendor, channel, attempt.vendorCode), *detail),
        tone=_OUTCOME_TONE.get(attempt.outcome, "info"),
    )


def _tone(status: str) -> str:
    return "bad" if status in _FAILED_STATUSES else "ok" if status in ("accepted", "delivered") else "info"


def _event_step(event: EventView, message: MessageView) -> Step:
    lines = _reason_lines(event.reason)
    if event.status == "retrying" and message.status == "retrying" and message.nextAttemptAt:
        lines += (f"다음 시도 Next attempt {kst(message.nextAttemptAt)} KST",)
    fell_back = event.status == "fallback" and message.childId is not None
    return Step(
        at=event.at,
        title=f"상태 Status → {status_label(event.status)} {event.status}",
        lines=(*lines, "대체 발송 LMS Fell back to:") if fell_back else lines,
        tone=_tone(event.status),
        link=message.childId if fell_back else None,
    )


def _child_step(event: EventView, child: MessageView) -> Step:
    return Step(
        at=event.at,
        title=f"대체 LMS Fallback LMS → {status_label(event.status)} {event.status}",
        lines=_reason_lines(event.reason),
        tone=_tone(event.status),
        link=child.messageId,
    )


def _receipt_step(receipt: ReceiptView, channel: str) -> Step:
    tone = {"delivered": "ok", "failed": "bad"}.get(receipt.outcome, "info")
    code = f" · code {receipt.code}" if receipt.code else ""
    outcome = f"{outcome_label(receipt.outcome)} {receipt.outcome}"
    state = f"{outcome_label(receipt.state)} {receipt.state}"
    # Placed by when it arrived, on the gateway's clock like every other step; the vendor's own time (its clock,
    # which may disagree) is shown beside it.
    vendor_time = (f"발송사 시각 Vendor time {kst(receipt.occurredAt)}",) if receipt.occurredAt else ()
    lines = (
        f"{receipt.vendor} · {outcome}{code} · {state}",
        *_code_lines(receipt.vendor, channel, receipt.code),
        receipt.detail,
        *vendor_time,
    )
    return Step(at=receipt.receivedAt, title="수신 결과 Receipt", lines=lines, tone=tone)
