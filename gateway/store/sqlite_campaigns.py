"""The campaign report's queries on SQLite: mixed into :class:`~gateway.store.sqlite.SqliteStore`."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Protocol, TypeVar

from gateway.store import rows_campaigns as rows
from gateway.store.types_campaigns import CampaignData, CampaignKey, CampaignSummary

__all__ = ("SqliteCampaigns",)

_T = TypeVar("_T")
_NAME = "json_extract(message, '$.braze.campaign_name')"


class _Backend(Protocol):
    async def _read(self, op: Callable[[sqlite3.Connection], _T]) -> _T: ...


class SqliteCampaigns:
    """Campaign reports and recent campaigns (see :class:`~gateway.store.base.Store`)."""

    async def campaign_data(self: _Backend, key: CampaignKey, value: str) -> CampaignData:
        """See :meth:`Store.campaign_data`."""

        def read(conn: sqlite3.Connection) -> CampaignData:
            def run(sql: str) -> list[sqlite3.Row]:
                return conn.execute(rows.statement(sql, "?", _NAME, key), (value,)).fetchall()

            # One read transaction, so the parts of the report agree with each other.
            conn.execute("BEGIN")
            try:
                return rows.campaign_data(
                    run(rows.TOTALS)[0],
                    next(iter(run(rows.NAME)), None),
                    run(rows.FUNNEL),
                    run(rows.FAILURES),
                    run(rows.LATENCY),
                )
            finally:
                conn.execute("COMMIT")

        return await self._read(read)

    async def recent_campaigns(self: _Backend, *, since: float, until: float, limit: int) -> list[CampaignSummary]:
        """See :meth:`Store.recent_campaigns`."""
        sql = rows.statement(rows.RECENT, "?", _NAME)
        return await self._read(lambda conn: [rows.summary(r) for r in conn.execute(sql, (since, until, limit))])
