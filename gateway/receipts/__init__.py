"""Delivery receipts in: vendor callbacks, result polls and the sandbox's emulated callbacks.

See docs/ARCHITECTURE.md, "Receipts".
"""

from __future__ import annotations

__all__: tuple[str, ...] = ()
