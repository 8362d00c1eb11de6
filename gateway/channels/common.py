"""What every channel's rules share: the result shape, button field names and the button count."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from gateway.models import OutboundMessage
from gateway.normalise.errors import FieldError

__all__ = ("CTA_FIELDS", "MAX_BUTTONS", "ButtonFields", "RuleResult", "button_count_error", "fields_for", "list_fields")

#: Buttons a body may carry (KakaoTalk's TEXT/IMAGE limit, applied to every channel).
MAX_BUTTONS = 5


class RuleResult(msgspec.Struct, frozen=True):
    """A message after its channel's rules, with every rule it breaks."""

    message: OutboundMessage
    errors: tuple[FieldError, ...] = ()


class ButtonFields(msgspec.Struct, frozen=True):
    """The body keys one button came from, so an error names what the marketer wrote."""

    name: str
    link_mobile: str
    link_pc: str


#: The single CTA button of the seed campaign's shape.
CTA_FIELDS = ButtonFields("buttonName", "buttonLinkMobile", "buttonLinkPC")


def list_fields(index: int) -> ButtonFields:
    """The keys of entry ``index`` (0-based) of the body's ``buttons`` list."""
    return ButtonFields(f"buttons[{index}].name", f"buttons[{index}].linkMobile", f"buttons[{index}].linkPc")


def fields_for(count: int, fields: Sequence[ButtonFields]) -> list[ButtonFields]:
    """``fields`` for the first buttons, list positions for any button beyond them."""
    return [fields[i] if i < len(fields) else list_fields(i) for i in range(count)]


def button_count_error(count: int) -> FieldError | None:
    """The error for ``count`` buttons when that is over :data:`MAX_BUTTONS`."""
    if count <= MAX_BUTTONS:
        return None
    return FieldError("buttons", f"{count:,} buttons; at most {MAX_BUTTONS} are allowed")
