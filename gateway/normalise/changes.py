"""What normalisation and the channel rules changed in a body, in words, for the dry-run preview (issue 12).

Pure: compares the body as Braze rendered it with the final message. Phone numbers and emails are never
shown here, only that they were rewritten.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from gateway.models import Button, OutboundMessage
from gateway.normalise.content import text_changes

__all__ = ("Change", "describe_changes")

_AD_PREFIX = "(광고)"
#: The body keys of one button (name, mobile link, PC link) and their texts as given.
_Keys = tuple[str, str, str]
_Texts = tuple[str | None, str | None, str | None]
_CTA: _Keys = ("buttonName", "buttonLinkMobile", "buttonLinkPC")
_OPT_OUT = "무료거부"


class Change(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One change: the body key it concerns (``None`` for the message as a whole), what, and before/after."""

    field: Annotated[str | None, Meta(description="The body key; null for the message as a whole.")]
    change: str
    before: str | None = None
    after: str | None = None


def describe_changes(body: Mapping[str, Any], message: OutboundMessage, default_button_name: str) -> list[Change]:
    """Every change between ``body`` and ``message``, then the notes normalisation left on the message.

    Args:
        body: The decoded body as received.
        message: What :func:`~gateway.normalise.inbound.normalise_body` made of it.
        default_button_name: The name a button without one gets.
    """
    changes = list(_content(body, message))
    changes += _contacts(body, message)
    changes += _buttons(body, message, default_button_name)
    changes += [Change(field=None, change=note) for note in message.notes]
    return changes


def _text(body: Mapping[str, Any], key: str) -> str | None:
    value = body.get(key)
    return value.strip() or None if isinstance(value, str) else None


def _content(body: Mapping[str, Any], message: OutboundMessage) -> Iterator[Change]:
    raw = _text(body, "content")
    if raw is not None:
        for change in text_changes(raw, markup=message.channel == "email"):
            yield Change(field="content", change=change)
    if message.channel == "lms" and message.ad:
        if raw is None or not raw.startswith(_AD_PREFIX):
            yield Change(field="content", change="advertising prefix added", after=message.content.split("\n", 1)[0])
        if raw is None or _OPT_OUT not in raw:
            yield Change(field="content", change="opt-out line added", after=message.content.rsplit("\n", 1)[-1])
    if message.channel == "email" and message.text:
        yield Change(field="content", change="plain-text part derived from the HTML")
    subject = _text(body, "subject")
    if subject is not None and message.subject is not None and subject != message.subject:
        yield Change(field="subject", change="subject rewritten", before=subject, after=message.subject)


def _contacts(body: Mapping[str, Any], message: OutboundMessage) -> Iterator[Change]:
    if message.phone and _text(body, "phone") != message.phone:
        yield Change(field="phone", change="written as digits only, in the national form (010…)")
    if message.email and _text(body, "email") != message.email:
        yield Change(field="email", change="written in its normal form (spaces removed, domain in lower case)")


def _buttons(body: Mapping[str, Any], message: OutboundMessage, default_name: str) -> Iterator[Change]:
    given = _given_buttons(body)
    if message.channel == "lms":
        if given:
            yield Change(field="buttons", change=f"{len(given)} button(s) written out as 'name: link' lines")
        return
    for (keys, texts), button in zip(given, message.buttons, strict=False):
        yield from _button_changes(keys, texts, button, default_name)


def _button_changes(keys: _Keys, texts: _Texts, button: Button, default_name: str) -> Iterator[Change]:
    name, mobile, pc = texts
    if not name:
        yield Change(field=keys[0], change="no name given: the default name used", after=default_name)
    links = ((keys[1], mobile, button.link_mobile, keys[2]), (keys[2], pc, button.link_pc, keys[1]))
    for key, raw, final, other in links:
        if raw is None:
            yield Change(field=key, change=f"not given: the {other} link serves both")
        elif raw != final:
            yield Change(field=key, change=_link_change(raw, final), before=raw, after=final)


def _link_change(raw: str, final: str) -> str:
    what = []
    if "://" not in raw:
        what.append("https:// added")
    if "utm_" in final and "utm_" not in raw:
        what.append("UTM parameters added")
    return "link rewritten: " + (", ".join(what) if what else "encoded (spaces, non-ASCII characters, host)")


def _given_buttons(body: Mapping[str, Any]) -> list[tuple[_Keys, _Texts]]:
    """The buttons the body gives, in the order normalisation reads them: the single CTA, then the list."""
    entries: list[tuple[_Keys, _Texts]] = [
        (_CTA, (_text(body, "buttonName"), _text(body, "buttonLinkMobile"), _text(body, "buttonLinkPC")))
    ]
    listed = body.get("buttons")
    for index, item in enumerate(listed if isinstance(listed, list) else []):
        if isinstance(item, Mapping):
            keys = (f"buttons[{index}].name", f"buttons[{index}].linkMobile", f"buttons[{index}].linkPc")
            entries.append((keys, (_text(item, "name"), _text(item, "linkMobile"), _text(item, "linkPc"))))
    return [(keys, texts) for keys, texts in entries if any(texts)]
