"""Delivery receipts in: vendor callbacks, NHN Email result polls and the sandbox's emulated callbacks (SPEC §7)."""

from __future__ import annotations

__all__: tuple[str, ...] = ()
