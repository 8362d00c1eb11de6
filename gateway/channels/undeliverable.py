"""The receipt codes after which a kakao message falls back to LMS or is sent again (SPEC §6), in one place.

They mean KakaoTalk cannot reach this person at all (not a KakaoTalk user, not a channel friend, an inactive
user, a number that does not match the account), so an LMS to the same phone is the way to reach them. Other
failures (a blocked channel, sending hours, a bad request) would fail the LMS path's purpose and end ``failed``.
"""

from __future__ import annotations

from collections.abc import Mapping

from adapters.nhn.kakao import KAKAO_RETRY_LATER, KAKAO_UNDELIVERABLE
from adapters.solapi.adapter import SOLAPI_KAKAO_UNDELIVERABLE

__all__ = ("KAKAO_UNDELIVERABLE_CODES", "kakao_retry_later", "kakao_undeliverable")

#: Per kakao vendor, the receipt codes meaning "cannot be delivered by KakaoTalk to this user".
KAKAO_UNDELIVERABLE_CODES: Mapping[str, frozenset[str]] = {
    "nhn": KAKAO_UNDELIVERABLE,
    "solapi": SOLAPI_KAKAO_UNDELIVERABLE,
}


def kakao_undeliverable(vendor: str, code: str | None) -> bool:
    """Whether a kakao receipt from ``vendor`` with ``code`` means the user cannot be reached by KakaoTalk."""
    return code is not None and code in KAKAO_UNDELIVERABLE_CODES.get(vendor, frozenset())


def kakao_retry_later(vendor: str, code: str | None) -> bool:
    """Whether a kakao receipt from ``vendor`` with ``code`` reports Kakao's own trouble: worth sending again."""
    return vendor == "nhn" and code in KAKAO_RETRY_LATER
