"""Email HTML: sanitising, a plain-text alternative, and CTA buttons as links (docs/ARCHITECTURE.md, "Normalisation").

``<style>`` elements are kept: the layouts Braze's email editor produces rely on them (media queries for mobile),
and email clients apply their own CSS restrictions. Inline ``style`` attributes are kept for the same reason.
Comments are removed, including Outlook's conditional comments.
"""

from __future__ import annotations

import html
import re
import sys
import unicodedata
from collections.abc import Sequence
from html.parser import HTMLParser

import nh3

from gateway.models import Button

__all__ = (
    "html_to_text",
    "link_targets",
    "looks_like_html",
    "render_buttons_html",
    "sanitise_html",
    "text_to_html",
    "unsafe_count",
)

_GENERIC_ATTRIBUTES = {"style", "class", "id", "align", "valign", "width", "height", "bgcolor", "border", "dir", "lang"}
_ATTRIBUTES = {
    "*": _GENERIC_ATTRIBUTES | {"title", "role"},
    "a": {"href", "target", "name"},
    "img": {"src", "alt"},
    "table": {"cellpadding", "cellspacing"},
    "td": {"colspan", "rowspan", "nowrap"},
    "th": {"colspan", "rowspan", "nowrap", "scope"},
    "col": {"span"},
    "colgroup": {"span"},
    "font": {"color", "face", "size"},
    "ol": {"start", "type"},
    "li": {"value"},
}
# CSS that runs code in old mail clients (IE's expression() and behavior, Gecko's -moz-binding, javascript: URLs).
# @import pulls in CSS nobody checked.
_UNSAFE_CSS = re.compile(r"javascript:|vbscript:|expression\(|-moz-binding|behavior:|@import", re.IGNORECASE)
# Whitespace and backslashes, and comments, which would hide those from a plain search.
_CSS_SPACING = re.compile(r"[\s\\]")
_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
_CSS_HEX_ESCAPE = re.compile(r"\\([0-9a-fA-F]{1,6})\s?")
_STYLE_ELEMENT = re.compile(r"<style\b[^>]*>(.*?)</style>", re.IGNORECASE | re.DOTALL)
# What the sanitiser removes, with the CSS above: counted before and after, it tells whether anything was removed.
_UNSAFE_TAGS = re.compile(r"<script|<iframe|<object|<embed|\son[a-z]+\s*=", re.IGNORECASE)
_INVISIBLE_IN_URLS = re.compile(r"[\t\n\r]")
# Cheap test first: anything unsafe, however encoded, holds one of these as written (in lower case), or
# full-width letters.
_SUSPECT = ("script", "<iframe", "<object", "<embed", "expression", "binding", "behavior", "import", "/*", "&#", "\\")
_FULL_WIDTH = re.compile("[\uff01-\uff5e]")
_EVENT_HANDLER = re.compile(r"\son[a-z]+\s*=")


def _unsafe_css(css: str) -> bool:
    return _unsafe_css_count(css) > 0


def _unsafe_css_count(css: str) -> int:
    """Code-running CSS in ``css`` as an old mail client may read it (escapes decoded, full-width letters folded).

    Read twice, with comments and without: a "comment" may really sit inside strings and hide nothing, so
    whichever reading finds more counts.
    """
    decoded = _CSS_HEX_ESCAPE.sub(_css_character, css)
    folded = unicodedata.normalize("NFKC", decoded) if _FULL_WIDTH.search(decoded) else decoded
    compact = _CSS_SPACING.sub("", folded)
    return max(len(_UNSAFE_CSS.findall(compact)), len(_UNSAFE_CSS.findall(_CSS_COMMENT.sub("", compact))))


def _css_character(escape: re.Match[str]) -> str:
    code = int(escape.group(1), 16)
    return chr(code) if 0 < code <= sys.maxunicode and not 0xD800 <= code <= 0xDFFF else ""


def _safe_attribute(_element: str, attribute: str, value: str) -> str | None:
    """Drop a ``style`` attribute whose CSS could run code; keep every other allowed attribute as it is."""
    return None if attribute == "style" and _unsafe_css(value) else value


# Every attribute outside this allow-list (so every on* event handler) is dropped; URLs keep only these schemes.
_CLEANER = nh3.Cleaner(
    tags=set(nh3.ALLOWED_TAGS) | {"style", "font", "main", "section"},
    clean_content_tags={"script", "noscript", "iframe", "object", "embed", "template", "textarea", "select", "title"},
    attributes=_ATTRIBUTES,
    url_schemes={"http", "https", "mailto", "tel"},
    attribute_filter=_safe_attribute,
    link_rel=None,
    strip_comments=True,
)
_TAG = re.compile(r"<[a-zA-Z!/]")
_HREF = re.compile(r'<a\s[^>]*?(?<=\s)href="([^"]*)"')
_BLOCKS = frozenset(
    {
        *("address", "article", "aside", "blockquote", "center", "caption", "dd", "details", "div", "dl", "dt"),
        *("figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "main", "nav"),
        *("ol", "p", "pre", "section", "summary", "table", "ul"),
    }
)
_HIDDEN = frozenset({"head", "script", "style", "title", "noscript", "template"})
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_BLANK_LINES = re.compile(r"\n{3,}")
_BUTTON_STYLE = (
    "display:inline-block;padding:12px 24px;background:#222222;color:#ffffff;text-decoration:none;border-radius:4px"
)


def sanitise_html(markup: str) -> str:
    """Remove scripts, event handlers, ``javascript:`` (any non-web) URLs and CSS that runs code; keep layout.

    A ``style`` attribute or ``<style>`` element with such CSS is dropped whole.
    """
    return _STYLE_ELEMENT.sub(_without_unsafe_css, str(_CLEANER.clean(markup)))


def _without_unsafe_css(style: re.Match[str]) -> str:
    return "" if _unsafe_css(style.group(1)) else style.group(0)


def unsafe_count(markup: str) -> int:
    """How many script tags, event handlers, ``javascript:`` URLs and code-running CSS ``markup`` holds.

    Entities are unescaped and the characters browsers ignore in URLs removed first, as a browser would read them.
    """
    lowered = markup.lower()
    suspect = any(token in lowered for token in _SUSPECT) or _FULL_WIDTH.search(markup)
    if not suspect and not _EVENT_HANDLER.search(lowered):
        return 0
    unescaped = html.unescape(markup)
    tags = len(_UNSAFE_TAGS.findall(unescaped))
    return tags + _unsafe_css_count(_INVISIBLE_IN_URLS.sub("", unescaped))


def looks_like_html(text: str) -> bool:
    """Whether ``text`` contains markup (a tag, a comment or a doctype) rather than plain text."""
    return _TAG.search(text) is not None


def text_to_html(text: str) -> str:
    """Turn plain text into HTML: escaped, with ``<br>`` for line breaks."""
    return html.escape(text).replace("\n", "<br>\n")


def render_buttons_html(buttons: Sequence[Button]) -> str:
    """Render CTA buttons as simple links, one paragraph each.

    The PC link is used: email is read in desktop clients as much as on phones, and sites send mobile browsers
    to their mobile pages themselves.
    """
    return "".join(
        f'<p style="margin:16px 0"><a href="{html.escape(b.link_pc)}" style="{_BUTTON_STYLE}">'
        f"{html.escape(b.name)}</a></p>"
        for b in buttons
    )


def link_targets(sanitised: str) -> list[str]:
    """The ``href`` values of the links in markup as :func:`sanitise_html` writes it, entities unescaped.

    A regular expression is exact here, and four times cheaper than a second HTML parse: nh3 writes every
    attribute in double quotes with ``"``, ``<`` and ``>`` inside values escaped.
    """
    return [html.unescape(href) for href in _HREF.findall(sanitised) if href]


def html_to_text(markup: str) -> str:
    """Derive a readable plain-text alternative of an HTML email.

    Block elements start new lines, list items get ``- ``, links read ``text (url)``, images their ``alt`` text,
    and entities are unescaped; scripts, styles and the head are left out.
    """
    converter = _TextConverter()
    converter.feed(markup)
    converter.close()
    lines = (line.rstrip() for line in "".join(converter.chunks).split("\n"))
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


class _TextConverter(HTMLParser):
    """Collects text chunks; ``chunks`` joined is the text with raw line structure."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._hidden = 0
        self._pre = 0
        # Open links: (href, index of the first chunk of the link text).
        self._links: list[tuple[str | None, int]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in _HIDDEN:
            self._hidden += 1
        elif tag == "br":
            self.chunks.append("\n")
        elif tag == "li":
            self.chunks.append("\n- ")
        elif tag == "a":
            self._links.append((values.get("href"), len(self.chunks)))
        elif tag == "img" and values.get("alt"):
            self.handle_data(f" {values['alt']} ")
        elif tag in _BLOCKS:
            self.chunks.append("\n")
        if tag == "pre":
            self._pre += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            return
        self.handle_starttag(tag, attrs)
        if tag in _HIDDEN:
            self._hidden -= 1

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif tag == "a" and self._links:
            self._close_link(*self._links.pop())
        elif tag in ("td", "th"):
            self.chunks.append(" ")
        elif tag == "tr" or tag in _BLOCKS:
            self.chunks.append("\n")
        if tag == "pre":
            self._pre = max(0, self._pre - 1)

    def handle_data(self, data: str) -> None:
        if self._hidden:
            return
        if self._pre:
            self.chunks.append(data.replace("\u00a0", " "))
            return
        text = _SPACES.sub(" ", data.replace("\n", " "))
        # As a browser does, white space after white space (or at a line start) is not shown.
        self.chunks.append(text.lstrip(" ") if not self.chunks or self.chunks[-1][-1:] in (" ", "\n") else text)

    def _close_link(self, href: str | None, start: int) -> None:
        text = "".join(self.chunks[start:]).strip()
        if not href or not href.lower().startswith(("http://", "https://")) or href == text:
            return
        del self.chunks[start:]
        self.chunks.append(f"{text} ({href})" if text else href)
