"""Email rules shared by every email vendor: a one-line subject, sanitised HTML, a text part, CTA links.

A subject with line breaks (a Liquid template that renders a trailing newline, a pasted title) gets them
replaced by single spaces rather than rejected: that is what the marketer meant, and the change is noted.

An advertising email's subject starts with ``(광고)`` (정보통신망법 제50조 and its 시행령 제61조, docs/vendors.md,
"Email, any vendor"); the opt-out link is each vendor's own mechanism, so the adapters add it.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from urllib.parse import urlsplit

import msgspec

from gateway.channels.common import RuleResult
from gateway.models import Button, OutboundMessage
from gateway.normalise.content import single_line
from gateway.normalise.email_html import (
    html_to_text,
    link_targets,
    looks_like_html,
    render_buttons_html,
    sanitise_html,
    text_to_html,
    unsafe_count,
)
from gateway.normalise.errors import FieldError
from gateway.normalise.links import LinkError, normalise_link

__all__ = ("AD_PREFIX", "apply")

#: What an advertising email's subject starts with.
AD_PREFIX = "(광고)"


def apply(message: OutboundMessage) -> RuleResult:
    """Apply the email rules.

    The content (HTML, or plain text turned into HTML) is sanitised; CTA buttons whose link the HTML does not
    already have are appended as links; the image, when given and not already shown, is put on top; ``text``
    is derived from the final HTML.
    Errors: no subject; HTML with nothing left once sanitised.
    """
    notes = list(message.notes)
    errors: list[FieldError] = []
    subject = single_line(message.subject or "")
    if not subject:
        errors.append(FieldError("subject", "an email needs a subject"))
    elif subject != message.subject:
        notes.append("email: line breaks in the subject replaced by spaces")
    if subject and message.ad and not subject.startswith(AD_PREFIX):
        subject = f"{AD_PREFIX} {subject}"
        notes.append(f"email: {AD_PREFIX} put at the start of the advertising subject")
    markup = message.content if looks_like_html(message.content) else text_to_html(message.content)
    body = sanitise_html(markup)
    if (found := unsafe_count(markup)) and unsafe_count(body) < found:
        notes.append("email: removed scripts, event handlers, javascript: links or unsafe styles from the HTML")
    if message.content and not body.strip():
        errors.append(FieldError("content", "nothing is left of the HTML once scripts are removed"))
    body = _with_buttons(_with_image(body, message.image_url, notes), message.buttons, notes)
    result = msgspec.structs.replace(
        message, subject=subject or None, content=body, text=html_to_text(body), notes=tuple(notes)
    )
    return RuleResult(result, tuple(errors))


def _with_image(body: str, image_url: str | None, notes: list[str]) -> str:
    if not image_url:
        return body
    src = html.escape(image_url)
    if src in body or image_url in body:
        return body
    notes.append("email: image added above the content")
    return f'<p><img src="{src}" alt="" style="max-width:100%"></p>{body}'


def _with_buttons(body: str, buttons: Sequence[Button], notes: list[str]) -> str:
    if not buttons:
        return body
    present = {_destination(link) for link in link_targets(body)} - {None}
    missing = [b for b in buttons if not present & {_destination(b.link_pc), _destination(b.link_mobile)}]
    if missing:
        notes.append(f"email: {len(missing)} button(s) added as links below the content")
    return body + render_buttons_html(missing)


def _destination(link: str) -> tuple[str, ...] | None:
    """A link's target for comparison: normalised, without UTM parameters (which only tag the visit)."""
    try:
        parts = urlsplit(normalise_link(link))
    except LinkError:
        return None
    query = "&".join(p for p in parts.query.split("&") if p and not p.lower().startswith("utm_"))
    return (parts.scheme, parts.netloc, parts.path or "/", query, parts.fragment)
