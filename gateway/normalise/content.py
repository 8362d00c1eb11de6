"""Text normalisation for message content and the detection of Liquid left unrendered.

See docs/ARCHITECTURE.md, "Normalisation".
"""

from __future__ import annotations

import functools
import html
import re
import unicodedata

__all__ = ("find_unrendered", "normalise_markup", "normalise_text", "single_line", "text_changes", "tidy")

# A zero-width joiner between two pictographs glues an emoji sequence (👨‍👩‍👧): keep that one, drop the rest.
_PICTO = "\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\ufe0f"
_ZERO_WIDTH = re.compile(
    f"[\u200b\u200c\u2060-\u2064\ufeff\u180e\u00ad]|(?<![{_PICTO}])\u200d|\u200d(?![{_PICTO}])",
)
# U+FFFD is what a broken encoding leaves where a character was lost (form %FF%FE, a mis-decoded attribute):
# it shows as a question mark in a box and carries nothing.
_REPLACEMENT = "\ufffd"
_BLANK_RUN = re.compile(r"\n{4,}")
_NEWLINES = re.compile(r"\s*\n\s*")
# Whole expressions first (a Braze attribute ${...} inside {{ }} included), so the snippet shows what the template
# meant; then lone openers.
_UNRENDERED = re.compile(r"\{\{(?:\$\{[^}\n]*\}|.){0,80}?\}\}|\{%.{0,80}?%\}|\$\{[^}\n]{0,80}\}|\{\{|\{%", re.DOTALL)
_SNIPPET_MAX = 40
#: Texts up to this long are remembered (:func:`normalise_text`); a longer one is refused by every text channel.
_REMEMBERED_MAX = 4000


def normalise_text(raw: str) -> str:
    """Normalise rendered message text.

    Entities are unescaped first, so an escaped line break, zero-width character or decomposed syllable is
    handled like a literal one. A non-breaking space (``&nbsp;``) becomes a plain space.

    Args:
        raw: The text as Braze rendered it.

    Returns:
        NFC text with LF line breaks, no zero-width or replacement (U+FFFD) characters, no trailing spaces, at
        most two consecutive blank lines and no leading or trailing blank space.
    """
    # One Braze send repeats its content, subject and button names for every user: normalised once per send.
    return _remembered(raw) if len(raw) <= _REMEMBERED_MAX else tidy(_clean(raw))


@functools.lru_cache(maxsize=256)
def _remembered(raw: str) -> str:
    return tidy(_clean(raw))


def _clean(raw: str) -> str:
    """Every step of :func:`normalise_text` but the tidying of blank space."""
    text = html.unescape(raw).replace("\u00a0", " ").replace(_REPLACEMENT, "")
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\\n", "\n")
    return unicodedata.normalize("NFC", _ZERO_WIDTH.sub("", text))


def text_changes(raw: str, *, markup: bool = False) -> list[str]:
    """What :func:`normalise_text` (or, with ``markup``, :func:`normalise_markup`) changes in ``raw``, in words.

    For the dry-run preview, so a marketer sees why the sent text differs from what Braze rendered.
    """
    changes = []
    if not markup and html.unescape(raw) != raw:
        changes.append("HTML entities such as &amp; written as characters")
    if not markup and "\\n" in raw:
        changes.append("typed \\n turned into line breaks")
    if "\r" in raw:
        changes.append("CR/CRLF line ends turned into LF")
    if _ZERO_WIDTH.search(raw):
        changes.append("zero-width characters removed")
    if _REPLACEMENT in raw:
        changes.append("replacement characters (U+FFFD, left by a broken encoding) removed")
    if not unicodedata.is_normalized("NFC", raw):
        changes.append("decomposed Hangul (as pasted from macOS) composed (NFC)")
    trimmed = raw.strip() != raw if markup else tidy(_clean(raw)) != _clean(raw)
    if trimmed:
        changes.append("blank space trimmed (leading and trailing, trailing spaces, extra blank lines)")
    return changes


def normalise_markup(raw: str) -> str:
    """Normalise HTML source: NFC, LF line breaks, zero-width and replacement characters removed, trimmed.

    Entities stay escaped: unescaping ``&lt;`` would turn text into markup.
    """
    text = raw.replace("\r\n", "\n").replace("\r", "\n").replace(_REPLACEMENT, "")
    return unicodedata.normalize("NFC", _ZERO_WIDTH.sub("", text)).strip()


def tidy(text: str) -> str:
    """Strip trailing spaces per line, collapse more than two blank lines to two and trim the whole text."""
    lines = "\n".join(line.rstrip() for line in text.split("\n"))
    return _BLANK_RUN.sub("\n\n\n", lines).strip()


def single_line(text: str) -> str:
    """Join the lines of ``text`` with single spaces (a subject or a button name has no line breaks)."""
    return _NEWLINES.sub(" ", text.strip())


def find_unrendered(text: str) -> str | None:
    """Return the first piece of Liquid left unrendered in ``text``, or ``None``.

    Finds ``{{ ... }}``, ``{% ... %}``, ``${...}`` and a lone ``{{`` or ``{%``. A lone opener is shown with
    what follows it, so the marketer can find it in the template.
    """
    match = _UNRENDERED.search(text)
    if match is None:
        return None
    snippet = match.group()
    if snippet in ("{{", "{%"):
        snippet = text[match.start() :].split("\n", 1)[0]
    return snippet if len(snippet) <= _SNIPPET_MAX else snippet[: _SNIPPET_MAX - 1] + "…"
