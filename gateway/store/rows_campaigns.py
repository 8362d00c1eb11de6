"""SQL of the campaign report (issue 12), shared by both backends: every count, group and percentile is computed
by the database, reading only the campaign's messages through the ``campaign_id`` or ``dispatch_id`` index.

Statements are written with ``{p}`` for the driver's placeholder, ``{key}`` for the id column (one of
:data:`KEYS`, never user input), ``{name}`` for the backend's expression of the campaign name in the message
JSON and ``{origin}`` for a message's origin; :func:`statement` fills them in.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gateway.store.types_campaigns import (
    CampaignData,
    CampaignKey,
    CampaignSummary,
    FailureGroup,
    FunnelCount,
    LatencyGroup,
)

__all__ = (
    "FAILURES",
    "FUNNEL",
    "KEYS",
    "LATENCY",
    "NAME",
    "RECENT",
    "TOTALS",
    "campaign_data",
    "statement",
    "summary",
)

KEYS: frozenset[CampaignKey] = frozenset({"campaign_id", "dispatch_id"})
_ORIGIN = "CASE WHEN m.parent_id IS NULL THEN 'braze' ELSE 'fallback' END"

TOTALS = "SELECT count(*), min(created_at), max(created_at) FROM messages WHERE {key} = {p}"
# The newest message names the campaign (a rename in Braze shows its latest name).
NAME = "SELECT {name} FROM messages WHERE {key} = {p} ORDER BY created_at DESC, id DESC LIMIT 1"
# "Accepted": a vendor took it at least once (an accepted attempt), whatever the receipt said later.
FUNNEL = (
    "SELECT m.channel, {origin}, m.status, count(*), "
    "sum(CASE WHEN EXISTS (SELECT 1 FROM attempts a WHERE a.message_id = m.id AND a.outcome = 'accepted') "
    "THEN 1 ELSE 0 END) "
    "FROM messages m WHERE m.{key} = {p} GROUP BY 1, 2, 3"
)
# What the vendor said of each message that did not reach the user: the failed receipt's code, else the code of
# the last failed attempt; with the last attempt's outcome (refused, or retried until the budget ran out).
FAILURES = (
    "SELECT channel, origin, vendor, status, outcome, code, count(*) FROM ("
    "SELECT m.channel AS channel, {origin} AS origin, m.vendor AS vendor, m.status AS status, "
    "(SELECT a.outcome FROM attempts a WHERE a.message_id = m.id ORDER BY a.id DESC LIMIT 1) AS outcome, "
    "COALESCE("
    "(SELECT r.code FROM receipts r WHERE r.message_id = m.id AND r.outcome = 'failed' ORDER BY r.id DESC LIMIT 1), "
    "(SELECT a.vendor_code FROM attempts a WHERE a.message_id = m.id AND a.outcome <> 'accepted' "
    "ORDER BY a.id DESC LIMIT 1)) AS code "
    "FROM messages m WHERE m.{key} = {p} AND m.status IN ('failed', 'dead', 'fallback', 'unknown')"
    ") f GROUP BY channel, origin, vendor, status, outcome, code ORDER BY count(*) DESC, channel, status"
)
# Seconds from reception to the delivered event; a fallback LMS counts from its kakao message's reception, which
# is when the user could first have had it. Nearest-rank percentiles: the smallest value whose rank n has
# n >= p * total (in integers, so no float rounding moves the rank).
LATENCY = (
    "SELECT channel, origin, count(*), min(CASE WHEN 100 * n >= 50 * total THEN seconds END), "
    "min(CASE WHEN 100 * n >= 95 * total THEN seconds END) FROM ("
    "SELECT channel, origin, seconds, row_number() OVER (PARTITION BY channel, origin ORDER BY seconds) AS n, "
    "count(*) OVER (PARTITION BY channel, origin) AS total FROM ("
    "SELECT m.channel AS channel, {origin} AS origin, "
    "(SELECT max(e.at) FROM events e WHERE e.message_id = m.id AND e.status = 'delivered') "
    "- COALESCE((SELECT p.created_at FROM messages p WHERE p.id = m.parent_id), m.created_at) AS seconds "
    "FROM messages m WHERE m.{key} = {p} AND m.status = 'delivered') d"
    ") r GROUP BY channel, origin"
)
# Campaigns with Braze messages in a window, latest first; each named by its newest message. Fallback LMS count
# only towards the messages that reached someone (a kakao message can reach its user as its LMS).
RECENT = (
    "SELECT g.campaign_id, (SELECT {name} FROM messages n WHERE n.campaign_id = g.campaign_id "
    "ORDER BY n.created_at DESC, n.id DESC LIMIT 1), g.messages, g.reached, g.first_at, g.last_at FROM ("
    "SELECT campaign_id, count(CASE WHEN parent_id IS NULL THEN 1 END) AS messages, "
    "sum(CASE WHEN status = 'delivered' THEN 1 ELSE 0 END) AS reached, "
    "min(CASE WHEN parent_id IS NULL THEN created_at END) AS first_at, "
    "max(CASE WHEN parent_id IS NULL THEN created_at END) AS last_at "
    "FROM messages WHERE created_at >= {p} AND created_at < {p} AND campaign_id IS NOT NULL "
    "GROUP BY campaign_id HAVING count(CASE WHEN parent_id IS NULL THEN 1 END) > 0 "
    "ORDER BY max(CASE WHEN parent_id IS NULL THEN created_at END) DESC LIMIT {p}) g ORDER BY g.last_at DESC"
)


def statement(sql: str, placeholder: str, name: str, key: CampaignKey = "campaign_id") -> str:
    """``sql`` for one backend and id column.

    Raises:
        ValueError: ``key`` is not an id column (it is put into the SQL, so it must be one of :data:`KEYS`).
    """
    if key not in KEYS:
        raise ValueError(f"not a campaign key: {key}")
    filled = sql.replace("{origin}", _ORIGIN).replace("{key}", key).replace("{name}", name)
    return filled.replace("{p}", placeholder)


def campaign_data(
    totals: Sequence[Any],
    name: Sequence[Any] | None,
    funnel: Sequence[Sequence[Any]],
    failures: Sequence[Sequence[Any]],
    latency: Sequence[Sequence[Any]],
) -> CampaignData:
    """A :class:`CampaignData` from the rows of :data:`TOTALS`, :data:`NAME`, :data:`FUNNEL`, :data:`FAILURES`
    and :data:`LATENCY`."""
    return CampaignData(
        messages=int(totals[0]),
        name=name[0] if name else None,
        first_at=totals[1],
        last_at=totals[2],
        funnel=[FunnelCount(row[0], row[1], row[2], int(row[3]), int(row[4])) for row in funnel],
        failures=[
            FailureGroup(
                channel=row[0],
                origin=row[1],
                vendor=row[2],
                status=row[3],
                outcome=row[4],
                code=row[5],
                count=int(row[6]),
            )
            for row in failures
        ],
        latency=[
            LatencyGroup(channel=row[0], origin=row[1], delivered=int(row[2]), p50=float(row[3]), p95=float(row[4]))
            for row in latency
        ],
    )


def summary(row: Sequence[Any]) -> CampaignSummary:
    """A :class:`CampaignSummary` from a row of :data:`RECENT`."""
    return CampaignSummary(
        campaign_id=row[0],
        name=row[1],
        messages=int(row[2]),
        reached=int(row[3]),
        first_at=float(row[4]),
        last_at=float(row[5]),
    )
