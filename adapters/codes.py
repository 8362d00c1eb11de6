"""What a vendor code means, in plain words for support staff: one lookup over the tables the adapters keep.

Each vendor package owns the ``CODE_TEXT`` of the codes it reports (attempts and receipts), beside the rest of
what it knows about that vendor, and its spec hands it to the product that sends the channel; this module only
finds the table of a ``(vendor, channel)`` through the registry.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from adapters import registry

__all__ = ("explain_code",)

#: Codes the adapters make up themselves when the vendor's answer carries none.
_HTTP = re.compile(r"http[-_](\d{3})")
_OWN = {
    "malformed-response": "발송사 응답을 읽을 수 없음 · the vendor's answer could not be read",
}


def explain_code(vendor: str, channel: str, code: str | None) -> str | None:
    """The plain meaning of ``code`` as ``vendor`` reports it for ``channel``; ``None`` when unknown."""
    if not code:
        return None
    known = _table(vendor, channel).get(code) or _OWN.get(code)
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


def _table(vendor: str, channel: str) -> Mapping[str, str]:
    """The code texts of the product that sends ``channel`` for ``vendor`` (none for an unknown pair)."""
    try:
        product = registry.vendor(vendor).product_for(channel)
    except KeyError:
        return {}
    return {} if product is None else product.code_text
