"""Looking a message up at NHN Cloud after an uncertain send (docs/ARCHITECTURE.md, "Uncertain sends").

KakaoTalk Bizmessage's brand message list, ``GET /brand-message/v1.0/appkeys/{appkey}/messages``, needs a
``requestId`` or a ``startRequestDate`` + ``endRequestDate`` window (``yyyy-MM-dd HH:mm``, Korean time);
``recipientGroupingKey`` only filters it (docs/vendors.md, "NHN Cloud", "Lookups"). After an uncertain send there
is no ``requestId``, so the window is built around the attempt and the grouping key (our message id) picks the row.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

import httpx
import msgspec

from adapters.base import KST
from adapters.contract import CannotTell, Found, LookupResult, NotFound
from adapters.nhn.common import SECRET_HEADER, ResultHeader
from adapters.nhn.config import NhnKakaoConfig
from adapters.spec import Lookup, LookupTarget

__all__ = ("WINDOW_MARGIN", "kakao_lookup", "kst_minute")

#: Seconds added on each side of the window: NHN's minute granularity and clocks that disagree.
WINDOW_MARGIN = 120.0


def kst_minute(when: float) -> str:
    """``yyyy-MM-dd HH:mm`` in Korean time, the brand message list's date format."""
    return datetime.fromtimestamp(when, KST).strftime("%Y-%m-%d %H:%M")


class _Row(msgspec.Struct, frozen=True, rename="camel"):
    request_id: str | None = None
    recipient_grouping_key: str | None = None
    message_status: str | None = None
    result_code: str | int | None = None


class _Search(msgspec.Struct, frozen=True):
    messages: list[_Row] = msgspec.field(default_factory=list)


class _Answer(msgspec.Struct, frozen=True, rename="camel"):
    header: ResultHeader
    message_search_result_response: _Search | None = None


def kakao_lookup(config: NhnKakaoConfig) -> Lookup:
    """The brand message lookup of ``config``'s app key."""
    url = f"{config.url.rstrip('/')}/brand-message/v1.0/appkeys/{quote(config.appkey, safe='')}/messages"

    async def lookup(client: httpx.AsyncClient, target: LookupTarget) -> LookupResult:
        params = {
            "startRequestDate": kst_minute(target.sent_at - WINDOW_MARGIN),
            "endRequestDate": kst_minute(max(target.now, target.sent_at) + WINDOW_MARGIN),
            "recipientGroupingKey": target.message_id,
            "pageSize": "15",
        }
        try:
            response = await client.get(url, params=params, headers={SECRET_HEADER: config.secret})
        except httpx.HTTPError as exc:
            return CannotTell(f"lookup failed: {type(exc).__name__}")
        if response.status_code != 200:
            return CannotTell(f"lookup answered HTTP {response.status_code}")
        try:
            answer = msgspec.json.decode(response.content, type=_Answer, strict=False)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return CannotTell("lookup answer unreadable")
        if not answer.header.is_successful:
            return CannotTell(f"lookup refused: {answer.header.result_code} {answer.header.result_message}".strip())
        rows = answer.message_search_result_response.messages if answer.message_search_result_response else []
        row = next((r for r in rows if r.recipient_grouping_key == target.message_id), None)
        if row is None:
            return NotFound(
                f"no brand message with this grouping key requested {params['startRequestDate']} to "
                f"{params['endRequestDate']} KST"
            )
        return Found(row.request_id, f"brand message {row.request_id} ({row.message_status or 'no status yet'})")

    return lookup
