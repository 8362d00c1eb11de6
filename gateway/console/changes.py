"""What normalisation changed: the body as Braze sent it beside the message as it was sent, field by field.

Normalisation notes say what it removed or added in words; this compares the values themselves, so a link that
was percent-encoded, given UTM parameters or copied from mobile to PC shows up even without a note.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl

import msgspec

from gateway.models import OutboundMessage

__all__ = ("Change", "normalisation_changes")

_OBJECT = msgspec.json.Decoder(dict[str, Any])
_SHOWN = 400


class Change(msgspec.Struct, frozen=True):
    """One field whose value normalisation changed (``before`` empty when normalisation filled it in)."""

    field: str
    before: str
    after: str


def normalisation_changes(raw_body: bytes, message: OutboundMessage, mask: Callable[[str], str]) -> list[Change]:
    """The fields of ``raw_body`` (JSON or form) whose value differs in ``message``.

    Recipients are left out (their normal form is personal data in another spelling); ``mask`` hides personal
    data in the values shown. A body that cannot be read (none, for a fallback LMS; erased) shows no changes.
    """
    body = _decode(raw_body)
    if body is None:
        return []
    pairs: list[tuple[str, object, str | None]] = [("content", body.get("content"), message.content)]
    if message.channel != "kakao":
        pairs.append(("subject", body.get("subject"), message.subject))
    if message.channel == "kakao":
        pairs.append(("imageUrl", body.get("imageUrl"), message.image_url))
    if message.buttons:
        pairs += _button_pairs(body, message)
    changes = []
    for field, raw, sent in pairs:
        before, after = _text(raw), sent or ""
        if before != after:
            changes.append(Change(field, _cut(mask(before)), _cut(mask(after))))
    return changes


def _decode(raw_body: bytes) -> Mapping[str, Any] | None:
    try:
        return _OBJECT.decode(raw_body)
    except (msgspec.DecodeError, msgspec.ValidationError):
        pass
    try:
        text = raw_body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    fields = dict(parse_qsl(text, keep_blank_values=True))
    return fields if "content" in fields else None


def _button_pairs(body: Mapping[str, Any], message: OutboundMessage) -> list[tuple[str, object, str | None]]:
    """Each sent button beside the body's entry it came from: the single CTA first, then the ``buttons`` list."""
    # A list entry is read by the last part of its key (``name``, ``linkMobile``, ``linkPc``), the CTA by its own.
    entries: list[tuple[tuple[str, str, str], Mapping[str, Any]]] = [
        (("buttonName", "buttonLinkMobile", "buttonLinkPC"), body)
    ]
    listed = body.get("buttons")
    if isinstance(listed, list):
        entries += [
            ((f"buttons[{i}].name", f"buttons[{i}].linkMobile", f"buttons[{i}].linkPc"), item)
            for i, item in enumerate(listed)
            if isinstance(item, Mapping)
        ]
    given = [(keys, source) for keys, source in entries if any(_text(source.get(key.split(".")[-1])) for key in keys)]
    pairs: list[tuple[str, object, str | None]] = []
    for (keys, source), button in zip(given, message.buttons, strict=False):
        sent = (button.name, button.link_mobile, button.link_pc)
        pairs += [(key, source.get(key.split(".")[-1]), value) for key, value in zip(keys, sent, strict=True)]
    return pairs


def _text(value: object) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else msgspec.json.encode(value).decode()


def _cut(text: str) -> str:
    """At most :data:`_SHOWN` characters, invisible ones (zero-width, bidi marks) written out as ``⟨U+200B⟩``."""
    shown = text if len(text) <= _SHOWN else text[:_SHOWN] + "…"
    return "".join(f"⟨U+{ord(char):04X}⟩" if unicodedata.category(char) == "Cf" else char for char in shown)
