"""The shapes of the campaign report's store queries (issue 12): counts computed by the database, not Python."""

from __future__ import annotations

from typing import Literal

import msgspec

__all__ = ("CampaignData", "CampaignKey", "CampaignSummary", "FailureGroup", "FunnelCount", "LatencyGroup", "Origin")

#: Which Braze id a report is for: every message of a campaign, or of one send (dispatch) of it.
CampaignKey = Literal["campaign_id", "dispatch_id"]
#: Where a message came from: Braze, or a kakao message that fell back to LMS.
Origin = Literal["braze", "fallback"]


class FunnelCount(msgspec.Struct, frozen=True):
    """Messages of one channel and origin in one status, and how many of them a vendor ever accepted."""

    channel: str
    origin: Origin
    status: str
    count: int
    accepted: int


class FailureGroup(msgspec.Struct, frozen=True, kw_only=True):
    """Messages that did not reach the user, grouped by what the vendor said.

    Attributes:
        status: ``failed``, ``dead``, ``fallback`` or ``unknown``.
        outcome: The outcome of the message's last attempt (``None``: never attempted).
        code: The vendor's code: of the failed receipt, else of the last failed attempt.
    """

    channel: str
    origin: Origin
    vendor: str
    status: str
    outcome: str | None
    code: str | None
    count: int


class LatencyGroup(msgspec.Struct, frozen=True, kw_only=True):
    """Time to delivery of the delivered messages of one channel and origin (nearest-rank percentiles)."""

    channel: str
    origin: Origin
    delivered: int
    p50: float
    p95: float


class CampaignData(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the report needs of one campaign (or dispatch); ``messages == 0`` means none is known."""

    messages: int
    name: str | None = None
    first_at: float | None = None
    last_at: float | None = None
    funnel: list[FunnelCount] = msgspec.field(default_factory=list)
    failures: list[FailureGroup] = msgspec.field(default_factory=list)
    latency: list[LatencyGroup] = msgspec.field(default_factory=list)


class CampaignSummary(msgspec.Struct, frozen=True, kw_only=True):
    """One recent campaign in a window: its messages from Braze, and how many reached the user (by any channel).

    Attributes:
        messages: Messages received from Braze (fallback LMS are not counted again).
        reached: Messages delivered, a fallback LMS included.
        first_at: When the first message from Braze arrived; ``last_at`` the latest.
    """

    campaign_id: str
    name: str | None
    messages: int
    reached: int
    first_at: float
    last_at: float
