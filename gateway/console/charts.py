"""Server-rendered SVG charts of the campaign report (issue 12): no script, no CDN, so the console works offline.

Colours are SVG presentation attributes, not CSS: the console's Content-Security-Policy allows no inline styles.
Every chart has a ``<title>`` and an ``aria-label`` and sits beside a table with the same numbers. Each function
returns finished SVG markup in which every text is escaped here, so templates insert it as it is (``| safe``).
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from gateway.api.campaign_views import ChannelReport, FailureReport

__all__ = ("OUTCOMES", "failures_chart", "funnel_chart", "latency_chart", "row_label")

#: The end states a funnel bar is split into, with their labels and colours (delivered first).
OUTCOMES: tuple[tuple[str, str, str], ...] = (
    ("delivered", "도달 delivered", "#16794a"),
    ("fallback", "LMS 대체 fell back", "#d99a00"),
    ("failed", "실패 failed", "#b42318"),
    ("held", "보류 held", "#8a5a00"),
    ("suppressed", "억제 suppressed", "#7a3fa0"),
    ("unknown", "미확인 unknown", "#8f99a8"),
    ("inFlight", "진행 중 in flight", "#2456c7"),
)
_WIDTH = 640
#: The width of a chart drawn in a half-width card, so its text is as large as in a full-width one.
_NARROW = 440
_LABEL = 150
_BAR = 22
_GAP = 12
_FONT = 'font-family="Noto Sans CJK KR, Noto Sans KR, sans-serif" font-size="12"'


def row_label(row: ChannelReport) -> str:
    """``kakao``, ``lms`` or ``lms (fallback)``."""
    return row.channel if row.origin == "braze" else f"{row.channel} (fallback)"


def funnel_chart(rows: Sequence[ChannelReport]) -> str:
    """One stacked bar per channel row: received messages split by where they ended, to a common scale."""
    scale = max((row.received for row in rows), default=0) or 1
    room = _WIDTH - _LABEL - 70
    bars = []
    for index, row in enumerate(rows):
        y = index * (_BAR + _GAP)
        bars.append(_text(0, y + 15, row_label(row)))
        x = float(_LABEL)
        for key, label, colour in OUTCOMES:
            count = int(getattr(row, key))
            if not count:
                continue
            width = count / scale * room
            bars.append(_rect(x, y, width, _BAR, colour, f"{row_label(row)} · {label}: {count}"))
            x += width
        bars.append(_text(x + 6, y + 15, f"{row.received:,}"))
    legend_y = len(rows) * (_BAR + _GAP) + 4
    legend, x = [], 0.0
    for _key, label, colour in OUTCOMES:
        legend.append(_rect(x, legend_y, 10, 10, colour, label))
        legend.append(_text(x + 14, legend_y + 9, label))
        x += 14 + 7.5 * len(label) + 16
        if x > _WIDTH - 120:
            legend_y, x = legend_y + 18, 0.0
    return _svg("수신 → 결과 Funnel: received messages by outcome", legend_y + 16, [*bars, *legend])


def latency_chart(rows: Sequence[ChannelReport]) -> str:
    """p50 and p95 seconds to delivery per channel row, to a common scale."""
    timed = [row for row in rows if row.p50Seconds is not None and row.p95Seconds is not None]
    scale = max((row.p95Seconds or 0.0 for row in timed), default=0.0) or 1.0
    room = _NARROW - _LABEL - 90
    parts = []
    for index, row in enumerate(timed):
        y = index * (2 * _BAR + _GAP)
        parts.append(_text(0, y + 15, row_label(row)))
        for offset, (name, value, colour) in enumerate(
            (("p50", row.p50Seconds or 0.0, "#2456c7"), ("p95", row.p95Seconds or 0.0, "#8fb0f0"))
        ):
            top = y + offset * _BAR
            width = max(value / scale * room, 1.0)
            parts.append(_rect(_LABEL, top, width, _BAR - 4, colour, f"{row_label(row)} {name}: {_seconds(value)}"))
            parts.append(_text(_LABEL + width + 6, top + 13, f"{name} {_seconds(value)}"))
    height = max(len(timed) * (2 * _BAR + _GAP), 20)
    if not timed:
        parts.append(_text(0, 14, "도달한 메시지가 없습니다. No delivered message yet."))
    return _svg("도달 시간 Time to delivery (p50, p95)", height, parts, width=_NARROW)


def failures_chart(failures: Sequence[FailureReport], *, shown: int = 8) -> str:
    """The most frequent failures by reason and vendor code, one bar each."""
    top = sorted(failures, key=lambda f: -f.count)[:shown]
    scale = max((f.count for f in top), default=0) or 1
    label_width = 360
    room = _WIDTH - label_width - 50
    parts = []
    for index, failure in enumerate(top):
        y = index * (_BAR + 6)
        label = f"{failure.channel} · {failure.reason}" + (f" · {failure.code}" if failure.code else "")
        parts.append(_text(0, y + 15, label if len(label) <= 56 else label[:55] + "…"))
        width = failure.count / scale * room
        parts.append(_rect(label_width, y, width, _BAR, "#b42318", f"{label}: {failure.count}"))
        parts.append(_text(label_width + width + 6, y + 15, f"{failure.count:,}"))
    if not top:
        parts.append(_text(0, 14, "실패가 없습니다. No failures."))
    return _svg("실패 사유 Failures by reason and vendor code", max(len(top) * (_BAR + 6), 20), parts)


def _svg(title: str, height: float, parts: list[str], *, width: int = _WIDTH) -> str:
    label = escape(title)
    body = "".join(parts)
    # Drawn to scale at ``width`` CSS pixels; campaign.css lets it shrink on a narrow screen.
    return (
        f'<svg class="chart" role="img" aria-label="{label}" viewBox="0 0 {width} {height:.0f}" '
        f'width="{width}" height="{height:.0f}" xmlns="http://www.w3.org/2000/svg"><title>{label}</title>{body}</svg>'
    )


def _rect(x: float, y: float, width: float, height: float, colour: str, title: str) -> str:
    return (
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{height:.1f}" fill="{colour}" rx="2">'
        f"<title>{escape(title)}</title></rect>"
    )


def _text(x: float, y: float, text: str) -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" {_FONT} fill="#1d2330">{escape(text)}</text>'


def _seconds(value: float) -> str:
    if value < 120:
        return f"{value:.1f} s"
    if value < 7200:
        return f"{value / 60:.1f} min"
    return f"{value / 3600:.1f} h"
