"""The campaign report's queries on PostgreSQL: mixed into :class:`~gateway.store.postgres.PostgresStore`."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

import psycopg

from gateway.store import rows_campaigns as rows
from gateway.store.types_campaigns import CampaignData, CampaignKey, CampaignSummary

__all__ = ("PostgresCampaigns",)

_Conn = psycopg.AsyncConnection[Any]
_NAME = "message->'braze'->>'campaign_name'"


class _Backend(Protocol):
    def _connection(self) -> AbstractAsyncContextManager[_Conn]: ...


class PostgresCampaigns:
    """Campaign reports and recent campaigns (see :class:`~gateway.store.base.Store`)."""

    async def campaign_data(self: _Backend, key: CampaignKey, value: str) -> CampaignData:
        """See :meth:`Store.campaign_data`."""
        async with self._connection() as conn:
            # One repeatable-read snapshot (the first statement of the connection's transaction), so the parts of
            # the report agree with each other.
            await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            found = []
            for sql in (rows.TOTALS, rows.NAME, rows.FUNNEL, rows.FAILURES, rows.LATENCY):
                cursor = await conn.execute(rows.statement(sql, "%s", _NAME, key), (value,))
                found.append(await cursor.fetchall())
        totals, name, funnel, failures, latency = found
        return rows.campaign_data(totals[0], next(iter(name), None), funnel, failures, latency)

    async def recent_campaigns(self: _Backend, *, since: float, until: float, limit: int) -> list[CampaignSummary]:
        """See :meth:`Store.recent_campaigns`."""
        async with self._connection() as conn:
            cursor = await conn.execute(rows.statement(rows.RECENT, "%s", _NAME), (since, until, limit))
            return [rows.summary(row) for row in await cursor.fetchall()]
