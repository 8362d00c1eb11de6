"""Shared vendor gates: the state every gateway process of one PostgreSQL shares per vendor product (issue 10).

One row per product holds the rate limiter's next free slot and the circuit breaker. The limiter and breaker
that use it live in :mod:`gateway.dispatch.limits`; this module is their view of the database.
"""

from __future__ import annotations

from typing import Protocol

import msgspec

__all__ = ("GateDatabase", "GateRow", "SlotGrant")


class GateRow(msgspec.Struct, frozen=True):
    """A product's circuit breaker as stored.

    Attributes:
        failures: Transient failures in a row.
        opened_until: ``0``: closed. Otherwise open until then (POSIX seconds), half-open after it.
        probe_until: While half-open: the one probe call is out until then.
    """

    failures: int = 0
    opened_until: float = 0.0
    probe_until: float = 0.0


class SlotGrant(msgspec.Struct, frozen=True):
    """Rate-limit slots reserved in one statement: ``count`` slots from ``first`` one interval apart.

    ``now`` is the time the reservation was made (the database's clock unless a test gave one), so a wait is
    ``slot - now`` whatever the local clock says. ``gate`` is the breaker as it stood then.
    """

    first: float
    now: float
    gate: GateRow


class GateDatabase(Protocol):
    """Where shared gates keep their state (:class:`~gateway.store.postgres.PostgresStore`).

    Every ``now`` is ``None`` in production: the database's clock, the same for every machine.
    """

    async def reserve_slots(self, product: str, *, count: int, interval: float, now: float | None) -> SlotGrant:
        """Reserve ``count`` consecutive slots of ``product``'s rate limit (generic cell rate algorithm)."""
        ...

    async def take_probe(self, product: str, *, lease: float, now: float | None) -> tuple[bool, GateRow]:
        """Take the half-open breaker's one probe for ``lease`` seconds; ``False`` when it is not half-open or taken."""
        ...

    async def record_failure(
        self, product: str, *, probe: bool, threshold: int, cooldown: float, now: float | None
    ) -> GateRow:
        """Count a transient failure; open the breaker at ``threshold`` in a row, or at once after a failed probe."""
        ...

    async def record_success(self, product: str) -> GateRow:
        """Close the breaker and clear its failures."""
        ...

    async def gate_rows(self) -> dict[str, GateRow]:
        """Every product's breaker as stored."""
        ...
