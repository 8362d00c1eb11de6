"""Body keys the gateway does not read: accepted (the raw body keeps them) but named to the sender.

A misspelt key (``button_name``, ``buttonlinkmobile``) would otherwise send a message without its button and
say nothing; each unknown key is listed, with the known key it most resembles when there is one.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

import msgspec

__all__ = ("BODY_KEYS", "BRAZE_KEYS", "BUTTON_KEYS", "IgnoredField", "ignored_fields")

#: The body keys of the Braze ids, by their :class:`~gateway.models.BrazeContext` field.
BRAZE_KEYS = {
    "campaign_id": "campaignId",
    "campaign_name": "campaignName",
    "dispatch_id": "dispatchId",
    "canvas_id": "canvasId",
    "canvas_step_id": "canvasStepId",
    "send_id": "sendId",
}

#: Every key of a Braze body the gateway reads.
BODY_KEYS = (
    "channel",
    "userId",
    "phone",
    "email",
    "content",
    "subject",
    "fallbackSubject",
    "buttonName",
    "buttonLinkMobile",
    "buttonLinkPC",
    "buttons",
    "imageUrl",
    "ad",
    "fallback",
    "vendor",
    "campaignId",
    "campaignName",
    "dispatchId",
    "canvasId",
    "canvasStepId",
    "sendId",
    "idempotencyKey",
    "dryRun",
)
_READ = frozenset(BODY_KEYS)
#: The keys of one entry of ``buttons``.
BUTTON_KEYS = ("name", "linkMobile", "linkPc")
#: How alike (difflib's ratio, 0 to 1) an unknown key and a known one must be to name the known one.
_SIMILAR = 0.8
_SHOWN_MAX = 64


class IgnoredField(msgspec.Struct, frozen=True, omit_defaults=True):
    """A body key the gateway did not read; ``similarTo`` is the known key it resembles (a likely typo)."""

    field: str
    similarTo: str | None = None

    def __str__(self) -> str:
        return f"{self.field} (did you mean {self.similarTo}?)" if self.similarTo else self.field


def ignored_fields(body: Mapping[str, Any]) -> list[IgnoredField]:
    """The keys of ``body`` (and of its ``buttons`` entries) that the gateway does not read, in body order."""
    found = [_ignored(key, BODY_KEYS, "") for key in body if key not in _READ]
    buttons = body.get("buttons")
    if isinstance(buttons, list):
        for index, entry in enumerate(buttons):
            if isinstance(entry, Mapping):
                prefix = f"buttons[{index}]."
                found += [_ignored(key, BUTTON_KEYS, prefix) for key in entry if key not in BUTTON_KEYS]
    return found


def _ignored(key: object, known: tuple[str, ...], prefix: str) -> IgnoredField:
    text = str(key)
    shown = text if len(text) <= _SHOWN_MAX else text[: _SHOWN_MAX - 1] + "…"
    similar = _similar(text, known)
    return IgnoredField(prefix + shown, prefix + similar if similar else None)


def _similar(key: str, known: tuple[str, ...]) -> str | None:
    """The known key ``key`` is a variant of: the same but for case, ``_`` and ``-``, else a close spelling."""
    folded = _fold(key)
    for name in known:
        if _fold(name) == folded:
            return name
    close = difflib.get_close_matches(folded, [_fold(name) for name in known], n=1, cutoff=_SIMILAR)
    return next((name for name in known if close and _fold(name) == close[0]), None)


def _fold(key: str) -> str:
    return key.replace("_", "").replace("-", "").lower()
