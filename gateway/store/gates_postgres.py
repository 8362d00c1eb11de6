"""The PostgreSQL side of shared vendor gates (:mod:`gateway.store.gates`): one single-statement update each.

Mixed into :class:`~gateway.store.postgres.PostgresStore`. Each statement runs in autocommit on the
``vendor_gates`` row of its product, so the row lock makes every read-modify-write atomic across processes and
machines; the table is UNLOGGED, so these updates write no WAL.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

import psycopg

from gateway.store.gates import GateRow, SlotGrant

__all__ = ("PostgresGates",)

_Conn = psycopg.AsyncConnection[Any]
#: A test's clock when given, else the database's: statement_timestamp() is one value for the whole statement.
_NOW = "coalesce(%(now)s::float8, extract(epoch from statement_timestamp())::float8)"
_ROW = "g.failures, g.opened_until, g.probe_until"
_RESERVE = f"""
INSERT INTO vendor_gates AS g (product, tat) VALUES (%(product)s, {_NOW} + %(span)s)
ON CONFLICT (product) DO UPDATE SET tat = greatest(g.tat, {_NOW}) + %(span)s
RETURNING g.tat - %(span)s, {_NOW}, {_ROW}
"""  # noqa: S608 - fixed fragments only
_ENSURE = "INSERT INTO vendor_gates (product) VALUES (%(product)s) ON CONFLICT (product) DO NOTHING"
_PROBE = f"""
UPDATE vendor_gates AS g SET probe_until = {_NOW} + %(lease)s
WHERE product = %(product)s AND opened_until > 0 AND opened_until <= {_NOW} AND probe_until <= {_NOW}
RETURNING {_ROW}
"""  # noqa: S608
_READ = f"SELECT {_ROW} FROM vendor_gates AS g WHERE product = %(product)s"  # noqa: S608
# A failed probe reopens at once; otherwise the breaker opens at the threshold, and stays one failure from
# reopening so the first failure after the pause reopens it too.
_OPENS = "(%(probe)s OR failures + 1 >= %(threshold)s)"
_FAILURE = f"""
UPDATE vendor_gates AS g SET
    failures = CASE WHEN {_OPENS} THEN %(threshold)s - 1 ELSE failures + 1 END,
    opened_until = CASE WHEN {_OPENS} THEN {_NOW} + %(cooldown)s ELSE opened_until END,
    probe_until = CASE WHEN %(probe)s THEN 0 ELSE probe_until END
WHERE product = %(product)s
RETURNING {_ROW}
"""  # noqa: S608
_SUCCESS = f"""
UPDATE vendor_gates AS g SET failures = 0, opened_until = 0, probe_until = 0
WHERE product = %(product)s AND (failures > 0 OR opened_until > 0 OR probe_until > 0)
RETURNING {_ROW}
"""  # noqa: S608


class _Pooled(Protocol):
    def _autocommit(self) -> AbstractAsyncContextManager[_Conn]: ...


class PostgresGates:
    """The :class:`~gateway.store.gates.GateDatabase` of :class:`~gateway.store.postgres.PostgresStore`."""

    async def reserve_slots(
        self: _Pooled, product: str, *, count: int, interval: float, now: float | None
    ) -> SlotGrant:
        """See :meth:`GateDatabase.reserve_slots`: ``tat = max(tat, now) + count * interval`` in one statement."""
        params = {"product": product, "span": count * interval, "now": now}
        async with self._autocommit() as conn:
            row = await (await conn.execute(_RESERVE, params)).fetchone()
        assert row is not None  # an upsert always returns its row
        return SlotGrant(row[0], row[1], GateRow(*row[2:]))

    async def take_probe(self: _Pooled, product: str, *, lease: float, now: float | None) -> tuple[bool, GateRow]:
        """See :meth:`GateDatabase.take_probe`: the row lock lets exactly one caller take it."""
        params = {"product": product, "lease": lease, "now": now}
        async with self._autocommit() as conn:
            row = await (await conn.execute(_PROBE, params)).fetchone()
            if row is not None:
                return True, GateRow(*row)
            row = await (await conn.execute(_READ, params)).fetchone()
        return False, GateRow() if row is None else GateRow(*row)

    async def record_failure(
        self: _Pooled, product: str, *, probe: bool, threshold: int, cooldown: float, now: float | None
    ) -> GateRow:
        """See :meth:`GateDatabase.record_failure`."""
        params = {"product": product, "probe": probe, "threshold": threshold, "cooldown": cooldown, "now": now}
        async with self._autocommit() as conn:
            await conn.execute(_ENSURE, params)
            row = await (await conn.execute(_FAILURE, params)).fetchone()
        assert row is not None  # ensured just before
        return GateRow(*row)

    async def record_success(self: _Pooled, product: str) -> GateRow:
        """See :meth:`GateDatabase.record_success`; writes only when there is something to clear."""
        async with self._autocommit() as conn:
            await conn.execute(_SUCCESS, {"product": product})
        return GateRow()

    async def gate_rows(self: _Pooled) -> dict[str, GateRow]:
        """See :meth:`GateDatabase.gate_rows`."""
        async with self._autocommit() as conn:
            rows = await (await conn.execute(f"SELECT product, {_ROW} FROM vendor_gates AS g")).fetchall()  # noqa: S608
        return {row[0]: GateRow(*row[1:]) for row in rows}
