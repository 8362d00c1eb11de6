"""LMS rules shared by every LMS vendor (docs/vendors.md, "SMS and LMS, any vendor"), and the kakao -> LMS fallback
(docs/ARCHITECTURE.md, "Delivery lifecycle").

Sizes are EUC-KR bytes, counted with the ``cp949`` codec: Python's ``euc_kr`` codec writes syllables outside
KS X 1001 (such as '똠') as 8-byte jamo sequences, while carriers count them as 2 bytes like any Hangul.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Sequence

import msgspec

from gateway.channels.common import RuleResult
from gateway.models import Button, OutboundMessage
from gateway.normalise.content import single_line, tidy
from gateway.normalise.errors import FieldError
from gateway.normalise.policy import Policy

__all__ = (
    "MAX_BODY_BYTES",
    "MAX_SUBJECT_BYTES",
    "apply",
    "cp949_bytes",
    "cut_to_bytes",
    "derive_subject",
    "lms_from_kakao",
    "strip_uncarriable",
)

MAX_BODY_BYTES = 2000
MAX_SUBJECT_BYTES = 40
_ELLIPSIS = "…"
_BYTES_RULE = "EUC-KR bytes: Hangul 2, other characters 1"
# Uncarriable characters are marked by the codec (one C-speed pass) with SUB, the control character meant for
# "substitute"; a mark at a line start or after a space takes the space that followed the removed character.
_MARK = "\x1a"
_MARK_ERRORS = "gateway.cp949-mark"
_MARKED_GAP = re.compile(f"(?:(?<=[ \n])|^){_MARK}+ ")


def cp949_bytes(text: str) -> int:
    """The size of ``text`` in EUC-KR/CP949 bytes (Hangul 2, ASCII and newline 1).

    A character cp949 cannot encode counts as 1 byte, as the ``?`` a carrier would turn it into; remove such
    characters first with :func:`strip_uncarriable`.
    """
    return len(text.encode("cp949", errors="replace"))


def strip_uncarriable(text: str) -> tuple[str, int]:
    """Remove every character cp949 cannot encode (emoji, symbols outside KS X 1001).

    Returns:
        The text, tidied where characters were removed (a space left doubled or leading by a removed emoji goes
        too, as do trailing spaces and emptied lines), and how many code points were removed.
    """
    marked = text.encode("cp949", errors=_MARK_ERRORS).decode("cp949")
    removed = marked.count(_MARK) - text.count(_MARK)
    if not removed:
        return text, 0
    return tidy(_MARKED_GAP.sub("", marked).replace(_MARK, "")), removed


def cut_to_bytes(text: str, limit: int) -> str:
    """The longest prefix of ``text`` within ``limit`` cp949 bytes, never splitting a character.

    A character cp949 cannot encode counts as 1 byte, as in :func:`cp949_bytes`.
    """
    encoded = text.encode("cp949", errors="replace")
    if len(encoded) <= limit:
        return text
    # Decoding the cut bytes drops a character split in two; the prefix has as many characters as that result.
    return text[: len(encoded[: max(limit, 0)].decode("cp949", errors="ignore"))]


def derive_subject(content: str) -> str | None:
    """An LMS subject from the first non-blank line of ``content``, cut to 40 bytes."""
    first = next((line.strip() for line in content.split("\n") if line.strip()), "")
    return cut_to_bytes(first, MAX_SUBJECT_BYTES).rstrip() or None


def apply(message: OutboundMessage, policy: Policy) -> RuleResult:
    """Apply the LMS rules: buttons written out, uncarriable characters removed, advertising text added.

    An LMS has no buttons and no image, so buttons become ``name: link`` lines and the image is dropped.
    Errors: content of nothing but uncarriable characters, the body (with the advertising text) over 2,000 bytes,
    a given subject over 40 bytes.
    """
    notes = list(message.notes)
    body, removed = strip_uncarriable(_with_button_lines(message.content, message.buttons))
    if removed:
        notes.append(f"LMS: removed {removed} character(s) the carriers cannot carry (emoji or symbols)")
    subject, errors = _subject(message.subject, body, notes)
    # Only when as many characters went as the text has can the text alone be gone (button lines lose some too).
    visible = len(message.content) - message.content.count(" ") - message.content.count("\n")
    if removed >= visible and not strip_uncarriable(message.content)[0]:
        errors.append(FieldError("content", "nothing is left once the characters carriers cannot carry are removed"))
    if message.ad:
        body = _advertise(body, policy, notes)
    size = cp949_bytes(body)
    if size > MAX_BODY_BYTES:
        with_ad = " with the advertising prefix and opt-out line" if message.ad else ""
        errors.append(
            FieldError("content", f"{size:,} bytes{with_ad}; LMS allows at most {MAX_BODY_BYTES:,} ({_BYTES_RULE})")
        )
    _note_outside_ks_x_1001(body, notes)
    result = msgspec.structs.replace(
        message, content=body, subject=subject, buttons=(), image_url=None, notes=tuple(notes)
    )
    return RuleResult(result, tuple(errors))


def lms_from_kakao(message: OutboundMessage, policy: Policy) -> OutboundMessage:
    """The LMS a failed kakao message falls back to, for the same user and phone.

    The kakao text and its buttons as ``name: mobile link`` lines, emoji removed, the advertising prefix and
    opt-out line added (kakao is always advertising), trimmed to 2,000 bytes: the text is cut first (ending with
    ``…``), and button lines that do not fit beside half the budget of text are left out. Every change is noted.

    Raises:
        ValueError: ``message`` is not a kakao message.
    """
    if message.channel != "kakao":
        raise ValueError(f"only a kakao message falls back to LMS, not {message.channel}")
    notes: list[str] = []
    text, removed = strip_uncarriable(message.content)
    lines, removed_in_buttons = strip_uncarriable("\n".join(_button_lines(message.buttons)))
    if removed + removed_in_buttons:
        notes.append(f"LMS: removed {removed + removed_in_buttons} character(s) the carriers cannot carry")
    budget = MAX_BODY_BYTES - cp949_bytes(_advertise("", policy, []))
    content = _advertise(_fit(text, lines.split("\n") if lines else [], budget, notes), policy, notes)
    _note_outside_ks_x_1001(content, notes)
    return OutboundMessage(
        channel="lms",
        user_id=message.user_id,
        phone=message.phone,
        content=content,
        subject=_fallback_subject(message.subject, text, notes),
        ad=True,
        fallback="none",
        braze=message.braze,
        notes=tuple(notes),
    )


def _mark_uncarriable(error: UnicodeError) -> tuple[str, int]:
    """Codec error handler: one mark per character cp949 cannot encode."""
    if not isinstance(error, UnicodeEncodeError):
        raise error
    return _MARK * (error.end - error.start), error.end


codecs.register_error(_MARK_ERRORS, _mark_uncarriable)


def _button_lines(buttons: Sequence[Button]) -> list[str]:
    return [f"{button.name}: {button.link_mobile}" for button in buttons]


def _with_button_lines(content: str, buttons: Sequence[Button]) -> str:
    lines = _button_lines(buttons)
    return "\n\n".join(part for part in (content, "\n".join(lines)) if part)


def _subject(given: str | None, body: str, notes: list[str]) -> tuple[str | None, list[FieldError]]:
    """The subject (given or derived from the body) and its errors."""
    if given:
        subject, removed = strip_uncarriable(single_line(given))
        if removed:
            notes.append(f"LMS: removed {removed} character(s) the carriers cannot carry from the subject")
        size = cp949_bytes(subject)
        if size > MAX_SUBJECT_BYTES:
            message = f"{size:,} bytes; an LMS subject allows at most {MAX_SUBJECT_BYTES} ({_BYTES_RULE})"
            return subject, [FieldError("subject", message)]
        if subject:
            return subject, []
    derived = derive_subject(body)
    if derived:
        notes.append("LMS: subject taken from the first line of the content")
    return derived, []


def _fallback_subject(given: str | None, text: str, notes: list[str]) -> str | None:
    """The kakao message's ``fallbackSubject`` or ``subject``, cut to 40 bytes; else the text's first line."""
    if given:
        subject, _ = strip_uncarriable(single_line(given))
        cut = cut_to_bytes(subject, MAX_SUBJECT_BYTES).rstrip()
        if cut != subject:
            notes.append(f"LMS: subject cut to {MAX_SUBJECT_BYTES} bytes ({_BYTES_RULE})")
        if cut:
            return cut
    return derive_subject(text)


def _advertise(body: str, policy: Policy, notes: list[str]) -> str:
    """``(광고)<sender name>\\n<body>\\n무료거부 <080 number>``, as Korean law requires of advertising text.

    Settings guarantee both values outside sandbox; a policy without them still sends the ``(광고)`` marker and
    notes what is missing.
    """
    if not policy.sender_name:
        notes.append("LMS: no sender name configured for the advertising prefix")
    if not policy.opt_out_080:
        notes.append("LMS: no 080 opt-out number configured for the advertising suffix")
    suffix = f"\n무료거부 {policy.opt_out_080}" if policy.opt_out_080 else ""
    return f"(광고){policy.sender_name or ''}\n{body}{suffix}"


def _fit(text: str, lines: list[str], budget: int, notes: list[str]) -> str:
    """Join ``text`` and the button ``lines`` within ``budget`` bytes, noting what was cut."""
    # The text keeps at least half the budget (or all it needs); button lines get the rest, first buttons first.
    reserved = min(cp949_bytes(text), budget // 2)
    kept = list(lines)
    while kept and reserved + cp949_bytes("\n\n" + "\n".join(kept)) > budget:
        kept.pop()
    if len(kept) < len(lines):
        notes.append(f"LMS: left out {len(lines) - len(kept)} button link(s) that did not fit in 2,000 bytes")
    block = "\n\n" + "\n".join(kept) if kept else ""
    room = budget - cp949_bytes(block)
    if cp949_bytes(text) > room:
        cut = cut_to_bytes(text, room - cp949_bytes(_ELLIPSIS)).rstrip() + _ELLIPSIS
        notes.append(f"LMS: text trimmed from {cp949_bytes(text):,} to {cp949_bytes(cut):,} bytes to fit 2,000 bytes")
        text = cut
    return (text + block) if text else block.lstrip("\n")


def _note_outside_ks_x_1001(text: str, notes: list[str]) -> None:
    """Note syllables outside KS X 1001 (cp949 extensions such as '똠') that older handsets may not show."""
    # euc_kr writes such a syllable in 8 bytes where cp949 needs 2: equal sizes mean there is none.
    if len(text.encode("euc_kr", "replace")) == cp949_bytes(text):
        return
    rare = sorted({char for char in text if not char.isascii() and len(char.encode("euc_kr", "replace")) != 2})
    if rare:
        shown = "".join(rare)
        notes.append(f"LMS: kept {len(rare)} character(s) outside KS X 1001 ({shown}); old phones may not show them")
