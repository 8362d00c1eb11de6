"""Looking a message up at NHN Cloud after an uncertain send (docs/ARCHITECTURE.md, "Uncertain sends").

KakaoTalk Bizmessage's brand message list, ``GET /brand-message/v1.0/appkeys/{appkey}/messages``, needs a
``requestId`` or a ``startRequestDate`` + ``endRequestDate`` window (``yyyy-MM-dd HH:mm``, Korean time); SMS's
``GET /sms/v3.0/appKeys/{appKey}/sender/mms`` a ``requestId`` or a ``startCreateDate`` + ``endCreateDate`` window
(``yyyy-MM-dd HH:mm:ss``); Email's ``GET /email/v2.1/appKeys/{appKey}/sender/mails`` a ``requestId`` or a
``startSendDate`` + ``endSendDate`` window. In each the grouping key (``recipientGroupingKey``,
``senderGroupingKey``) only filters (docs/vendors.md, "NHN Cloud", "Lookups"). After an uncertain send there is
no ``requestId``, so the window is built around the attempt and the grouping key (our message id) picks the row;
the gateway checks it again rather than trust the filter.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from urllib.parse import quote

import httpx
import msgspec

from adapters.base import KST
from adapters.contract import CannotTell, Found, LookupResult, NotFound
from adapters.nhn.common import SECRET_HEADER, ResultHeader
from adapters.nhn.config import NhnEmailConfig, NhnKakaoConfig, NhnSmsConfig
from adapters.nhn.email import NhnEmailAdapter, parse_result_query
from adapters.spec import Lookup, LookupTarget

__all__ = ("WINDOW_MARGIN", "email_lookup", "kakao_lookup", "kst_minute", "sms_lookup")

#: Seconds added on each side of the window: NHN's minute granularity and clocks that disagree.
WINDOW_MARGIN = 120.0


def kst_minute(when: float) -> str:
    """``yyyy-MM-dd HH:mm`` in Korean time, the brand message list's date format."""
    return datetime.fromtimestamp(when, KST).strftime("%Y-%m-%d %H:%M")


def _kst_second(when: float) -> str:
    return datetime.fromtimestamp(when, KST).strftime("%Y-%m-%d %H:%M:%S")


class _Row(msgspec.Struct, frozen=True, rename="camel"):
    request_id: str | None = None
    recipient_grouping_key: str | None = None
    #: Brand message: COMPLETED or FAILED.
    message_status: str | None = None
    #: SMS: 0 failed, 1 requested, 2 processing, 3 succeeded, 4 cancelled, 5 duplicate, 6/7 advertising limits.
    msg_status: str | int | None = None


class _KakaoSearch(msgspec.Struct, frozen=True):
    messages: list[_Row] = msgspec.field(default_factory=list)


class _KakaoAnswer(msgspec.Struct, frozen=True, rename="camel"):
    header: ResultHeader
    message_search_result_response: _KakaoSearch | None = None


class _SmsBody(msgspec.Struct, frozen=True):
    data: list[_Row] | None = None


class _SmsAnswer(msgspec.Struct, frozen=True):
    header: ResultHeader
    body: _SmsBody | None = None


def kakao_lookup(config: NhnKakaoConfig) -> Lookup:
    """The brand message lookup of ``config``'s app key."""
    url = f"{config.url.rstrip('/')}/brand-message/v1.0/appkeys/{quote(config.appkey, safe='')}/messages"

    def params(target: LookupTarget) -> dict[str, str]:
        return {
            "startRequestDate": kst_minute(target.sent_at - WINDOW_MARGIN),
            "endRequestDate": kst_minute(max(target.now, target.sent_at) + WINDOW_MARGIN),
            "recipientGroupingKey": target.message_id,
        }

    def rows(body: bytes) -> tuple[ResultHeader, list[_Row]]:
        answer = msgspec.json.decode(body, type=_KakaoAnswer, strict=False)
        search = answer.message_search_result_response
        return answer.header, search.messages if search else []

    return _lookup(url, config.secret, params, rows, "brand message")


def sms_lookup(config: NhnSmsConfig) -> Lookup:
    """The LMS lookup of ``config``'s app key (advertising LMS is listed there too, with ``adYn``)."""
    url = f"{config.url.rstrip('/')}/sms/v3.0/appKeys/{quote(config.appkey, safe='')}/sender/mms"

    def params(target: LookupTarget) -> dict[str, str]:
        return {
            "startCreateDate": _kst_second(target.sent_at - WINDOW_MARGIN),
            "endCreateDate": _kst_second(max(target.now, target.sent_at) + WINDOW_MARGIN),
            "recipientGroupingKey": target.message_id,
        }

    def rows(body: bytes) -> tuple[ResultHeader, list[_Row]]:
        answer = msgspec.json.decode(body, type=_SmsAnswer, strict=False)
        return answer.header, (answer.body.data or []) if answer.body else []

    return _lookup(url, config.secret, params, rows, "LMS")


def _lookup(
    url: str,
    secret: str,
    params_of: Callable[[LookupTarget], dict[str, str]],
    rows_of: Callable[[bytes], tuple[ResultHeader, list[_Row]]],
    what: str,
) -> Lookup:
    async def lookup(client: httpx.AsyncClient, target: LookupTarget) -> LookupResult:
        params = params_of(target)
        try:
            response = await client.get(url, params=params | {"pageSize": "15"}, headers={SECRET_HEADER: secret})
        except httpx.HTTPError as exc:
            return CannotTell(f"lookup failed: {type(exc).__name__}")
        if response.status_code != 200:
            return CannotTell(f"lookup answered HTTP {response.status_code}")
        try:
            header, rows = rows_of(response.content)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return CannotTell("lookup answer unreadable")
        if not header.is_successful:
            return CannotTell(f"lookup refused: {header.result_code} {header.result_message}".strip())
        row = next((r for r in rows if r.recipient_grouping_key == target.message_id), None)
        if row is None:
            start, end = (value for key, value in params.items() if key != "recipientGroupingKey")
            return NotFound(f"no {what} with this grouping key created {start} to {end} KST")
        status = row.message_status or row.msg_status
        return Found(row.request_id, f"{what} {row.request_id} (status {status if status is not None else 'none yet'})")

    return lookup


def email_lookup(config: NhnEmailConfig) -> Lookup:
    """The mail list lookup of ``config``'s app key, through the query the result poll uses."""
    adapter = NhnEmailAdapter(config)

    async def lookup(client: httpx.AsyncClient, target: LookupTarget) -> LookupResult:
        request = adapter.build_result_query(
            message_id=target.message_id,
            since=target.sent_at - WINDOW_MARGIN,
            until=max(target.now, target.sent_at) + WINDOW_MARGIN,
        )
        try:
            response = await client.request(request.method, request.url, headers=request.headers)
        except httpx.HTTPError as exc:
            return CannotTell(f"lookup failed: {type(exc).__name__}")
        if response.status_code != 200:
            return CannotTell(f"lookup answered HTTP {response.status_code}")
        try:
            receipts = parse_result_query(response.content)
        except ValueError as exc:
            return CannotTell(f"lookup not answered: {exc}")
        found = next((r for r in receipts if r.correlation_id == target.message_id), None)
        if found is None:
            return NotFound("no mail with this grouping key sent in the window")
        return Found(found.vendor_message_id, f"mail {found.vendor_message_id} ({found.code})")

    return lookup
