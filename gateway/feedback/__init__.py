"""Reporting final message states back to Braze (SPEC §7)."""

from __future__ import annotations

__all__: tuple[str, ...] = ()
