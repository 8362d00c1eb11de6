"""The idempotency key of an ingested message: a Braze retry must find the first message again.

See docs/ARCHITECTURE.md, "Ingest".
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import msgspec

from gateway.models import OutboundMessage

__all__ = ("MAX_EXPLICIT_KEY", "idempotency_key")

#: Explicit keys longer than this are stored as their hash.
MAX_EXPLICIT_KEY = 200
_JSON = msgspec.json.Encoder()


def idempotency_key(header: str | None, body: Mapping[str, Any], message: OutboundMessage) -> str:
    """The key a repeat of this message is recognised by.

    In order: the ``Idempotency-Key`` header (``h:``), the body's ``idempotencyKey`` (``b:``), a hash of the
    channel, user and Braze ids when any Braze id is present (``braze:``), else a hash of the normalised message
    (``content:``). Each kind has its own prefix so keys of different kinds never collide; an explicit key over
    200 characters is hashed (``h#:``, ``b#:``).

    Args:
        header: The ``Idempotency-Key`` header, if any.
        body: The body as received.
        message: The normalised message.
    """
    explicit = _explicit("h", header) or _explicit("b", _as_text(body.get("idempotencyKey")))
    if explicit:
        return explicit
    braze = message.braze
    ids = (braze.campaign_id, braze.dispatch_id, braze.canvas_id, braze.canvas_step_id, braze.send_id)
    if any(ids):
        return "braze:" + _digest([message.channel, message.user_id, *ids])
    links = [[button.link_mobile, button.link_pc] for button in message.buttons]
    recipient = message.phone or message.email
    return "content:" + _digest(
        [message.channel, recipient, message.subject, message.content, links, message.image_url]
    )


def _explicit(kind: str, key: str | None) -> str | None:
    key = (key or "").strip()
    if not key:
        return None
    if len(key) > MAX_EXPLICIT_KEY:
        return f"{kind}#:{hashlib.sha256(key.encode()).hexdigest()}"
    return f"{kind}:{key}"


def _as_text(value: object) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _digest(parts: list[Any]) -> str:
    # JSON keeps the parts apart: ("ab", "c") and ("a", "bc") hash differently.
    return hashlib.sha256(_JSON.encode(parts)).hexdigest()
