"""The idempotency key of an ingested message: a Braze retry must find the first message again.

Every kind of key is scoped to the channel and the user: a key reused for another user (a template keyed on
the Braze dispatch id, which every user of one send shares) names another message, never the first user's.

See docs/ARCHITECTURE.md, "Ingest".
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import msgspec

from gateway.models import OutboundMessage

__all__ = ("EXPLICIT_KINDS", "changed_fields", "idempotency_key", "is_explicit")

#: The prefixes of keys the sender chose (the ``Idempotency-Key`` header, the body's ``idempotencyKey``).
EXPLICIT_KINDS = ("h:", "b:")
_JSON = msgspec.json.Encoder()
#: The normalised message's fields by the body key a marketer knows them by.
_BODY_NAMES = {
    "channel": "channel",
    "user_id": "userId",
    "content": "content",
    "phone": "phone",
    "email": "email",
    "subject": "subject",
    "buttons": "buttons",
    "image_url": "imageUrl",
    "ad": "ad",
    "fallback": "fallback",
    "vendor": "vendor",
    "braze": "Braze ids",
}


def idempotency_key(header: str | None, body: Mapping[str, Any], message: OutboundMessage) -> str:
    """The key a repeat of this message is recognised by.

    In order: the ``Idempotency-Key`` header (``h:``), the body's ``idempotencyKey`` (``b:``), the Braze ids
    when any is present (``braze:``), else the normalised message (``content:``); each a hash with the channel
    and the user id, so the same key from two users names two messages. Each kind has its own prefix, so keys
    of different kinds never collide.

    Args:
        header: The ``Idempotency-Key`` header, if any.
        body: The body as received.
        message: The normalised message.
    """
    scope = [message.channel, message.user_id]
    for kind, explicit in (("h:", header), ("b:", _as_text(body.get("idempotencyKey")))):
        key = (explicit or "").strip()
        if key:
            return kind + _digest([*scope, key])
    braze = message.braze
    ids = (braze.campaign_id, braze.dispatch_id, braze.canvas_id, braze.canvas_step_id, braze.send_id)
    if any(ids):
        return "braze:" + _digest([*scope, *ids])
    links = [[button.link_mobile, button.link_pc] for button in message.buttons]
    recipient = message.phone or message.email
    return "content:" + _digest([*scope, recipient, message.subject, message.content, links, message.image_url])


def is_explicit(key: str) -> bool:
    """Whether ``key`` is one the sender chose (Stripe's contract: reusing it for another message is a 409)."""
    return key.startswith(EXPLICIT_KINDS)


def changed_fields(first: OutboundMessage, repeat: OutboundMessage) -> list[str]:
    """The body keys whose normalised values differ between two messages under one key (``notes`` aside)."""
    return [name for field, name in _BODY_NAMES.items() if getattr(first, field) != getattr(repeat, field)]


def _as_text(value: object) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _digest(parts: list[Any]) -> str:
    # JSON keeps the parts apart: ("ab", "c") and ("a", "bc") hash differently.
    return hashlib.sha256(_JSON.encode(parts)).hexdigest()
