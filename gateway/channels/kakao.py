"""KakaoTalk brand message rules shared by every kakao vendor (VENDORS.md "Kakao"). Emoji are kept."""

from __future__ import annotations

from collections.abc import Sequence

from gateway.channels.common import ButtonFields, button_count_error, fields_for
from gateway.models import Button, OutboundMessage
from gateway.normalise.errors import FieldError

__all__ = ("CONTENT_LIMITS", "MAX_BUTTON_NAME", "MAX_LINK", "check")

#: (characters, line breaks) per bubble. VENDORS.md gives 1,300/99 for both, but NHN's brand message guide and
#: other vendors' SDKs limit the text of an image bubble to 400 characters and 29 line breaks.
CONTENT_LIMITS = {"TEXT": (1300, 99), "IMAGE": (400, 29)}
MAX_BUTTON_NAME = 14
MAX_LINK = 1000


def check(message: OutboundMessage, fields: Sequence[ButtonFields] = ()) -> list[FieldError]:
    """Every KakaoTalk rule ``message`` breaks.

    Args:
        message: A kakao message; characters are Unicode code points.
        fields: The body keys of each button (list positions ``buttons[i]`` when not given).
    """
    errors = _content_errors(message.content, "IMAGE" if message.image_url else "TEXT")
    count_error = button_count_error(len(message.buttons))
    if count_error is not None:
        errors.append(count_error)
    for button, keys in zip(message.buttons, fields_for(len(message.buttons), fields), strict=True):
        errors.extend(_button_errors(button, keys))
    # A link given once serves both mobile and PC; its keys then name the same field, reported once.
    return list(dict.fromkeys(errors))


def _content_errors(content: str, bubble: str) -> list[FieldError]:
    errors = []
    max_characters, max_breaks = CONTENT_LIMITS[bubble]
    with_image = " with an image" if bubble == "IMAGE" else ""
    if len(content) > max_characters:
        errors.append(
            FieldError(
                "content", f"{len(content):,} characters; KakaoTalk allows at most {max_characters:,}{with_image}"
            )
        )
    breaks = content.count("\n")
    if breaks > max_breaks:
        errors.append(
            FieldError("content", f"{breaks:,} line breaks; KakaoTalk allows at most {max_breaks}{with_image}")
        )
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
