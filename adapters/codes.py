"""What a vendor code means, in plain words for support staff: one lookup over the tables the adapters keep.

Each vendor module owns the ``CODE_TEXT`` of the codes it reports (attempts and receipts), beside the rest of
what it knows about that vendor; this module only says which table serves which ``(vendor, channel)``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from adapters import nhn_email, nhn_kakao, nhn_sms, sendgrid, solapi

__all__ = ("explain_code",)

_TABLES: dict[tuple[str, str], Mapping[str, str]] = {
    ("nhn", "kakao"): nhn_kakao.CODE_TEXT,
    ("nhn", "lms"): nhn_sms.CODE_TEXT,
    ("nhn", "email"): nhn_email.CODE_TEXT,
    ("solapi", "kakao"): solapi.CODE_TEXT,
    ("solapi", "lms"): solapi.CODE_TEXT,
    ("sendgrid", "email"): sendgrid.CODE_TEXT,
}
#: Codes the adapters make up themselves when the vendor's answer carries none.
_HTTP = re.compile(r"http[-_](\d{3})")
_OWN = {
    "malformed-response": "발송사 응답을 읽을 수 없음 · the vendor's answer could not be read",
}


def explain_code(vendor: str, channel: str, code: str | None) -> str | None:
    """The plain meaning of ``code`` as ``vendor`` reports it for ``channel``; ``None`` when unknown."""
    if not code:
        return None
    known = _TABLES.get((vendor, channel), {}).get(code) or _OWN.get(code)
    if known:
        return known
    http = _HTTP.fullmatch(code)
    if http:
        status = int(http.group(1))
        if status >= 500:
            return (
                f"발송사 서버 오류 (HTTP {status}): 다시 시도 · the vendor's server failed (HTTP {status}): tried again"
            )
        return f"발송사가 HTTP {status}로 답함 · the vendor answered HTTP {status}"
    return None
