"""Delivery receipts in: vendor callbacks, NHN Email result polls and the sandbox's emulated callbacks.

See docs/ARCHITECTURE.md, "Receipts".
"""

from __future__ import annotations

__all__: tuple[str, ...] = ()
