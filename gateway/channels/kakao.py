"""KakaoTalk brand message rules shared by every kakao vendor (docs/vendors.md, "Kakao"). Emoji are kept."""

from __future__ import annotations

from collections.abc import Sequence

from gateway.channels.common import ButtonFields, button_count_error, fields_for
from gateway.models import Button, OutboundMessage
from gateway.normalise.errors import FieldError

__all__ = ("MAX_BUTTON_NAME", "MAX_CHARACTERS", "MAX_LINE_BREAKS", "MAX_LINK", "check")

#: Content limits of the TEXT and IMAGE bubbles alike (docs/vendors.md, "Kakao"), in characters and line breaks.
MAX_CHARACTERS = 1300
MAX_LINE_BREAKS = 99
MAX_BUTTON_NAME = 14
MAX_LINK = 1000


def check(message: OutboundMessage, fields: Sequence[ButtonFields] = ()) -> list[FieldError]:
    """Every KakaoTalk rule ``message`` breaks.

    Args:
        message: A kakao message; characters are Unicode code points.
        fields: The body keys of each button (list positions ``buttons[i]`` when not given).
    """
    errors = _content_errors(message.content)
    count_error = button_count_error(len(message.buttons))
    if count_error is not None:
        errors.append(count_error)
    for button, keys in zip(message.buttons, fields_for(len(message.buttons), fields), strict=True):
        errors.extend(_button_errors(button, keys))
    # A link given once serves both mobile and PC; its keys then name the same field, reported once.
    return list(dict.fromkeys(errors))


def _content_errors(content: str) -> list[FieldError]:
    errors = []
    if len(content) > MAX_CHARACTERS:
        errors.append(
            FieldError("content", f"{len(content):,} characters; KakaoTalk allows at most {MAX_CHARACTERS:,}")
        )
    breaks = content.count("\n")
    if breaks > MAX_LINE_BREAKS:
        errors.append(FieldError("content", f"{breaks:,} line breaks; KakaoTalk allows at most {MAX_LINE_BREAKS}"))
    return errors


def _button_errors(button: Button, keys: ButtonFields) -> list[FieldError]:
    errors = []
    if len(button.name) > MAX_BUTTON_NAME:
        errors.append(
            FieldError(
                keys.name, f"{len(button.name)} characters; KakaoTalk allows at most {MAX_BUTTON_NAME} in a button name"
            )
        )
    if not button.link_mobile:
        errors.append(FieldError(keys.link_mobile, "a KakaoTalk button needs a mobile link"))
    for key, link in ((keys.link_mobile, button.link_mobile), (keys.link_pc, button.link_pc)):
        errors.extend(_link_errors(key, link))
    return errors


def _link_errors(key: str, link: str) -> list[FieldError]:
    if not link:
        return []
    if not link.lower().startswith(("http://", "https://")):
        return [FieldError(key, "KakaoTalk links must start with http:// or https://")]
    if len(link) > MAX_LINK:
        return [FieldError(key, f"{len(link):,} characters; KakaoTalk allows at most {MAX_LINK:,} in a link")]
    return []
