"""Reading typed values from a Braze body, where every value may arrive as a string, collecting errors."""

from __future__ import annotations

import re
import unicodedata

from gateway.normalise.content import find_unrendered
from gateway.normalise.errors import FieldError

__all__ = ("ValueReader", "invisible_only")

_TRUE = frozenset({"true", "y", "yes", "1"})
_FALSE = frozenset({"false", "n", "no", "0"})
_SHOWN_MAX = 20
# Control characters carry nothing a recipient can see, carriers reject them, and PostgreSQL cannot store NUL.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Control (Cc) and format (Cf: zero-width, bidi, BOM) characters; U+FFFD is what a broken encoding leaves.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf"})
_REPLACEMENT = "\ufffd"
_INVISIBLE = "only invisible characters (control or format characters)"


def invisible_only(text: str) -> bool:
    """Whether ``text`` shows nothing: only blank space, control or format characters and U+FFFD."""
    # Printable text (one C-speed pass, the common case) has no control, format or separator character but space.
    if text.isprintable():
        return not text.strip(" " + _REPLACEMENT)
    return all(
        character.isspace() or character == _REPLACEMENT or unicodedata.category(character) in _INVISIBLE_CATEGORIES
        for character in text
    )


class ValueReader:
    """Converts body values and records a :class:`FieldError` for each one that cannot be used.

    A missing key, ``null`` and ``""`` (what Braze renders for a missing attribute) all read as ``None``.
    """

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def fail(self, field: str, message: str) -> None:
        """Record a problem with ``field``."""
        self.errors.append(FieldError(field, message))

    def text(self, field: str, value: object, *, limit: int | None = None, controls: bool = False) -> str | None:
        """Text, stripped; numbers and booleans are accepted as their JSON spelling.

        Args:
            field: The body's key, for errors.
            value: The value as decoded.
            limit: The most characters the text may have once cleaned; a longer one is an error (and ``None``).
            controls: Keep control characters (a link refuses them where they would change its host).
        """
        if value is None:
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            text = str(value)
        elif isinstance(value, str):
            # Printable text has no control character: one C-speed pass spares most values the regex.
            text = (value if controls or value.isprintable() else _CONTROL.sub("", value)).strip()
        else:
            self.fail(field, f"must be text, not {'a list' if isinstance(value, list) else 'an object'}")
            return None
        if limit is not None and len(text) > limit:
            self.fail(field, f"{len(text):,} characters; at most {limit:,} are allowed")
            return None
        return text or None

    def required(self, field: str, value: object, hint: str, *, limit: int | None = None) -> str | None:
        """Text that must be present and visible; ``hint`` says what to put there (a non-text value has its own error).

        Emptiness is judged after cleaning: a value of control or format characters only is as missing as ``""``.
        """
        errors = len(self.errors)
        text = self.text(field, value, limit=limit)
        if len(self.errors) > errors:
            return None
        if text is None or invisible_only(text):
            given = isinstance(value, str) and value.strip()
            self.fail(field, f"{_INVISIBLE if given else 'missing'}; {hint}")
            return None
        return text

    def flag(self, field: str, value: object) -> bool | None:
        """A yes/no value: a JSON boolean, or true/false, Y/N, yes/no, 1/0 in any case."""
        if isinstance(value, bool):
            return value
        text = self.text(field, value)
        if text is None:
            return None
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        self.fail(field, f'"{_shown(text)}" is not a yes/no value; use true or false')
        return None

    def choice(self, field: str, value: object, allowed: tuple[str, ...]) -> str | None:
        """One of ``allowed`` (compared in lower case)."""
        text = self.text(field, value)
        if text is None:
            return None
        if text.lower() in allowed:
            return text.lower()
        self.fail(field, f'"{_shown(text)}" is not allowed; use {", ".join(allowed[:-1])} or {allowed[-1]}')
        return None

    def rendered(self, field: str, text: str) -> bool:
        """Whether ``text`` is free of unrendered Liquid; records the snippet when it is not."""
        snippet = find_unrendered(text)
        if snippet is None:
            return True
        self.fail(field, f'contains Liquid that was not rendered: "{snippet}" (check the template and its defaults)')
        return False


def _shown(text: str) -> str:
    return text if len(text) <= _SHOWN_MAX else text[: _SHOWN_MAX - 1] + "…"
