"""Reading CTA buttons and links from a body: the single CTA keys and the ``buttons`` list.

See docs/ARCHITECTURE.md, "Ingest", "Normalisation".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from gateway.channels.common import CTA_FIELDS, ButtonFields, button_count_error, list_fields
from gateway.models import Button
from gateway.normalise.content import normalise_text, single_line
from gateway.normalise.limits import LINK_LIMIT, NAME_LIMIT
from gateway.normalise.links import LinkError, Utm, normalise_link
from gateway.normalise.values import ValueReader, invisible_only

__all__ = ("LinkRules", "ReadButtons", "read_buttons", "read_link")

_LIST_SHAPE = "a list of {name, linkMobile, linkPc}"


class LinkRules(msgspec.Struct, frozen=True):
    """How CTA links are normalised: UTM parameters to append, hosts allowed."""

    utm: Utm | None = None
    allowed_hosts: frozenset[str] | None = None


class ReadButtons(msgspec.Struct, frozen=True):
    """The valid buttons and the body keys each came from."""

    buttons: tuple[Button, ...]
    fields: tuple[ButtonFields, ...]


#: The texts of one button as given: name, mobile link, PC link.
_Texts = tuple[str | None, str | None, str | None]


def read_buttons(body: Mapping[str, Any], reader: ValueReader, default_name: str, rules: LinkRules) -> ReadButtons:
    """Read the single CTA button, then the ``buttons`` list; errors go to ``reader``.

    A button without a name gets ``default_name``; a link given for only one of mobile and PC serves both; a
    button with a name but no link is an error; an entry with nothing in it is skipped. More than
    :data:`~gateway.channels.common.MAX_BUTTONS` given buttons is an error, whether each is valid or not.
    """
    cta = (body.get("buttonName"), body.get("buttonLinkMobile"), body.get("buttonLinkPC"))
    entries = [(CTA_FIELDS, cta), *_list_entries(body.get("buttons"), reader)]
    given = [(keys, texts) for keys, texts in ((k, _texts(reader, k, raw)) for k, raw in entries) if any(texts)]
    count_error = button_count_error(len(given))
    if count_error is not None:
        reader.errors.append(count_error)
    read = [_button(reader, keys, texts, default_name, rules) for keys, texts in given]
    valid = [item for item in read if item is not None]
    return ReadButtons(tuple(button for button, _ in valid), tuple(keys for _, keys in valid))


def read_link(reader: ValueReader, field: str, raw: str, rules: LinkRules) -> str | None:
    """A normalised link within :data:`LINK_LIMIT` characters, or ``None`` with the problem recorded."""
    if not reader.rendered(field, raw):
        return None
    try:
        link = normalise_link(raw, utm=rules.utm, allowed_hosts=rules.allowed_hosts)
    except LinkError as exc:
        reader.fail(field, str(exc))
        return None
    if len(link) > LINK_LIMIT:
        reader.fail(field, f"{len(link):,} characters once encoded; a link may have at most {LINK_LIMIT:,}")
        return None
    return link


def _list_entries(value: object, reader: ValueReader) -> list[tuple[ButtonFields, tuple[object, object, object]]]:
    """The entries of the ``buttons`` list (raw-JSON bodies only)."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        reader.fail(
            "buttons",
            f"must be {_LIST_SHAPE} in a raw JSON body, not text; "
            "for one button use buttonName, buttonLinkMobile and buttonLinkPC",
        )
        return []
    if not isinstance(value, list):
        reader.fail("buttons", f"must be {_LIST_SHAPE}")
        return []
    entries: list[tuple[ButtonFields, tuple[object, object, object]]] = []
    for index, item in enumerate(value):
        if isinstance(item, Mapping):
            entries.append((list_fields(index), (item.get("name"), item.get("linkMobile"), item.get("linkPc"))))
        else:
            reader.fail(f"buttons[{index}]", "must be an object {name, linkMobile, linkPc}")
    return entries


def _texts(reader: ValueReader, keys: ButtonFields, raw: tuple[object, object, object]) -> _Texts:
    # Links keep their control characters: normalise_link refuses one in a host rather than closing the gap.
    return (
        reader.text(keys.name, raw[0], limit=NAME_LIMIT),
        reader.text(keys.link_mobile, raw[1], controls=True),
        reader.text(keys.link_pc, raw[2], controls=True),
    )


def _button(
    reader: ValueReader, keys: ButtonFields, texts: _Texts, default_name: str, rules: LinkRules
) -> tuple[Button, ButtonFields] | None:
    """One button and the keys its links came from, or ``None`` with its problems recorded."""
    name_raw, mobile_raw, pc_raw = texts
    name = single_line(normalise_text(name_raw)) if name_raw else ""
    name = "" if invisible_only(name) else name
    name_ok = reader.rendered(keys.name, name)
    if not mobile_raw and not pc_raw:
        # Both named: when Connected Content returns nothing, Braze renders both links empty.
        for field, other in ((keys.link_mobile, keys.link_pc), (keys.link_pc, keys.link_mobile)):
            reader.fail(field, f'empty: the button "{name}" has no link; set {field} or {other}')
        return None
    mobile = read_link(reader, keys.link_mobile, mobile_raw, rules) if mobile_raw else None
    # The seed campaign gives the same link twice: normalise it once.
    pc = mobile if pc_raw == mobile_raw else read_link(reader, keys.link_pc, pc_raw, rules) if pc_raw else None
    first = mobile or pc
    if first is None or not name_ok or (mobile_raw and mobile is None) or (pc_raw and pc is None):
        return None
    # A link given once serves both; errors about it then name the key the marketer actually filled in.
    fields = ButtonFields(
        keys.name, keys.link_mobile if mobile else keys.link_pc, keys.link_pc if pc else keys.link_mobile
    )
    return Button(name or default_name, mobile or first, pc or first), fields
