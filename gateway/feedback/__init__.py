"""Reporting final message states back to Braze (docs/ARCHITECTURE.md, "Receipts")."""

from __future__ import annotations

__all__: tuple[str, ...] = ()
