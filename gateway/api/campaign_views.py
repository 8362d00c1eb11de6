"""The campaign report's JSON and CSV shapes (issue 12), built from the store's aggregates and the unit prices.

Definitions (README "Campaign report"): per channel and origin (messages from Braze, or LMS a kakao message fell
back to), ``received`` messages, ``accepted`` by a vendor at least once, and where they ended: ``delivered``,
``fallback`` (kakao became an LMS), ``failed`` (a receipt said undelivered, or the vendor refused it / retries ran
out), ``held``, ``suppressed``, ``unknown`` (no receipt in time) or still ``inFlight``. Cost is an estimate:
``billable`` messages (delivered, or accepted and not failed: ``accepted`` and ``unknown``) times the channel's
unit price; a kakao message that fell back costs nothing as kakao, its LMS counts in the LMS fallback row.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from gateway.api.views import iso
from gateway.channels.reasons import failure_reason
from gateway.store.types_campaigns import CampaignData, CampaignKey, CampaignSummary, FunnelCount, Origin

__all__ = (
    "BY_PARAMS",
    "CURRENCY",
    "CampaignList",
    "CampaignListItem",
    "CampaignReport",
    "ChannelReport",
    "FailureReport",
    "campaign_list",
    "campaign_report",
    "report_csv",
)

#: The ``by`` query parameter -> the store's id column.
BY_PARAMS: Mapping[str, CampaignKey] = {"campaignId": "campaign_id", "dispatchId": "dispatch_id"}
CURRENCY: Literal["KRW"] = "KRW"
_ORDER = {("kakao", "braze"): 0, ("lms", "braze"): 1, ("lms", "fallback"): 2, ("email", "braze"): 3}
_IN_FLIGHT = frozenset({"queued", "sending", "retrying", "accepted"})
_BILLABLE = frozenset({"delivered", "accepted", "unknown"})


class ChannelReport(msgspec.Struct, kw_only=True):
    """The funnel, delivery time and cost of one channel's messages of one origin."""

    channel: str
    origin: Annotated[Origin, Meta(description="`braze`: received from Braze; `fallback`: LMS a kakao message became")]
    received: int
    accepted: Annotated[int, Meta(description="Taken by the vendor at least once")]
    delivered: int
    fallback: Annotated[int, Meta(description="kakao messages that became an LMS (see the `fallback` row)")]
    failed: Annotated[int, Meta(description="Undelivered by receipt, refused by the vendor, or retries exhausted")]
    held: int
    suppressed: int
    unknown: Annotated[int, Meta(description="No delivery receipt in time")]
    inFlight: Annotated[int, Meta(description="Still queued, sending, retrying or awaiting its receipt")]
    deliveryRate: Annotated[float | None, Meta(description="delivered / received (0 to 1)")]
    p50Seconds: Annotated[float | None, Meta(description="Median seconds from reception to delivery")]
    p95Seconds: float | None
    unitPrice: Annotated[float | None, Meta(description="KRW per message from GATEWAY_PRICES; null when not set")]
    billable: Annotated[int, Meta(description="delivered, or accepted and not failed (awaiting a receipt, unknown)")]
    cost: float | None


class FailureReport(msgspec.Struct, kw_only=True):
    """Messages that did not reach the user for one reason and vendor code."""

    channel: str
    origin: Origin
    vendor: str
    status: str
    reason: Annotated[str, Meta(examples=["not reachable by KakaoTalk: sent as LMS"])]
    code: Annotated[str | None, Meta(description="The vendor's code (receipt, else last failed attempt)")]
    count: int


class CampaignReport(msgspec.Struct, kw_only=True):
    """What reached whom at what cost, for one Braze campaign or dispatch."""

    by: Literal["campaignId", "dispatchId"]
    id: str
    campaignName: str | None
    firstAt: str
    lastAt: str
    received: Annotated[int, Meta(description="Messages received from Braze (fallback LMS not counted again)")]
    reached: Annotated[int, Meta(description="Delivered on any channel, a fallback LMS included")]
    reachedRate: float | None
    cost: Annotated[float | None, Meta(description="Estimated KRW over the channels with a price; null if none")]
    currency: Literal["KRW"]
    unpriced: Annotated[list[str], Meta(description="Channels with billable messages but no price in GATEWAY_PRICES")]
    channels: list[ChannelReport]
    failures: list[FailureReport]


class CampaignListItem(msgspec.Struct, kw_only=True):
    """One recent campaign."""

    campaignId: str
    campaignName: str | None
    messages: Annotated[int, Meta(description="Messages received from Braze")]
    reached: Annotated[int, Meta(description="Delivered on any channel, a fallback LMS included")]
    firstAt: str
    lastAt: str


class CampaignList(msgspec.Struct, kw_only=True):
    """Campaigns with messages in ``[from, to)``, latest first."""

    from_: str = msgspec.field(name="from")
    to: str
    items: list[CampaignListItem]


def campaign_report(by: str, value: str, data: CampaignData, prices: Mapping[str, float]) -> CampaignReport:
    """The report of ``data`` (a campaign with at least one message) with costs from ``prices``.

    Args:
        by: ``campaignId`` or ``dispatchId``.
        value: The id.
        data: The store's aggregates.
        prices: KRW per message by channel.
    """
    channels = _channels(data, prices)
    latency = {(g.channel, g.origin): g for g in data.latency}
    for row in channels:
        group = latency.get((row.channel, row.origin))
        if group is not None:
            row.p50Seconds, row.p95Seconds = round(group.p50, 3), round(group.p95, 3)
    received = sum(row.received for row in channels if row.origin == "braze")
    reached = sum(row.delivered for row in channels)
    priced = [row.cost for row in channels if row.cost is not None]
    return CampaignReport(
        by="dispatchId" if by == "dispatchId" else "campaignId",
        id=value,
        campaignName=data.name,
        firstAt=iso(data.first_at) or "",
        lastAt=iso(data.last_at) or "",
        received=received,
        reached=reached,
        reachedRate=_rate(reached, received),
        cost=round(sum(priced), 2) if priced else None,
        currency=CURRENCY,
        unpriced=sorted({row.channel for row in channels if row.cost is None and row.billable}),
        channels=channels,
        failures=[
            FailureReport(
                channel=g.channel,
                origin=g.origin,
                vendor=g.vendor,
                status=g.status,
                reason=failure_reason(g.channel, g.vendor, g.status, g.outcome, g.code),
                code=g.code,
                count=g.count,
            )
            for g in data.failures
        ],
    )


def _channels(data: CampaignData, prices: Mapping[str, float]) -> list[ChannelReport]:
    groups: dict[tuple[str, Origin], list[FunnelCount]] = {}
    for count in data.funnel:
        groups.setdefault((count.channel, count.origin), []).append(count)
    rows = [_channel(channel, origin, counts, prices.get(channel)) for (channel, origin), counts in groups.items()]
    return sorted(rows, key=lambda row: (_ORDER.get((row.channel, row.origin), 9), row.channel, row.origin))


def _channel(channel: str, origin: Origin, counts: list[FunnelCount], price: float | None) -> ChannelReport:
    by_status = {count.status: count.count for count in counts}
    received = sum(by_status.values())
    billable = sum(n for status, n in by_status.items() if status in _BILLABLE)
    return ChannelReport(
        channel=channel,
        origin=origin,
        received=received,
        accepted=sum(count.accepted for count in counts),
        delivered=by_status.get("delivered", 0),
        fallback=by_status.get("fallback", 0),
        failed=by_status.get("failed", 0) + by_status.get("dead", 0),
        held=by_status.get("held", 0),
        suppressed=by_status.get("suppressed", 0),
        unknown=by_status.get("unknown", 0),
        inFlight=sum(n for status, n in by_status.items() if status in _IN_FLIGHT),
        deliveryRate=_rate(by_status.get("delivered", 0), received),
        p50Seconds=None,
        p95Seconds=None,
        unitPrice=price,
        billable=billable,
        cost=None if price is None else round(billable * price, 2),
    )


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def campaign_list(summaries: list[CampaignSummary], start: float, end: float) -> CampaignList:
    """The recent campaigns answer."""
    items = [
        CampaignListItem(
            campaignId=s.campaign_id,
            campaignName=s.name,
            messages=s.messages,
            reached=s.reached,
            firstAt=iso(s.first_at) or "",
            lastAt=iso(s.last_at) or "",
        )
        for s in summaries
    ]
    return CampaignList(from_=iso(start) or "", to=iso(end) or "", items=items)


_CHANNEL_COLUMNS = (
    "channel",
    "origin",
    "received",
    "accepted",
    "delivered",
    "fallback",
    "failed",
    "held",
    "suppressed",
    "unknown",
    "inFlight",
    "deliveryRate",
    "p50Seconds",
    "p95Seconds",
    "unitPrice",
    "billable",
    "cost",
)
_FAILURE_COLUMNS = ("channel", "origin", "vendor", "status", "reason", "code", "count")


def report_csv(report: CampaignReport) -> str:
    """The report as CSV for a spreadsheet: a heading, the channel table, a blank line, the failure table.

    Starts with a byte order mark, so spreadsheet programs read the Hangul of campaign names as UTF-8.
    """
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([report.by, report.id, "campaignName", report.campaignName or ""])
    writer.writerow(["received", report.received, "reached", report.reached, "cost", _cell(report.cost), CURRENCY])
    writer.writerow([])
    writer.writerow(_CHANNEL_COLUMNS)
    for row in report.channels:
        writer.writerow([_cell(getattr(row, column)) for column in _CHANNEL_COLUMNS])
    writer.writerow([])
    writer.writerow(_FAILURE_COLUMNS)
    for failure in report.failures:
        writer.writerow([_cell(getattr(failure, column)) for column in _FAILURE_COLUMNS])
    return out.getvalue()


def _cell(value: object) -> object:
    # A spreadsheet would run a cell starting with = + - @ as a formula: vendor codes such as -1001 get a quote.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return "" if value is None else value
