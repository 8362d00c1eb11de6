"""Looking a message up at Solapi after an uncertain send (docs/ARCHITECTURE.md, "Uncertain sends").

``GET /messages/v4/list`` filters by ``to``, ``startDate``/``endDate`` (``dateType=CREATED``) and more, but not by
``customFields`` (docs/vendors.md, "Solapi"): the gateway lists the recipient's messages created around the
attempt and finds ours by ``customFields.gatewayId`` itself. ``messageList`` is an object keyed by message id;
``nextKey`` is null on the last page.
"""

from __future__ import annotations

import secrets
import time

import httpx
import msgspec

from adapters.contract import CannotTell, Found, LookupResult, NotFound
from adapters.solapi.adapter import authorization, iso_date
from adapters.solapi.config import SolapiConfig
from adapters.spec import Lookup, LookupTarget

__all__ = ("LIST_PATH", "solapi_lookup")

LIST_PATH = "/messages/v4/list"
#: Seconds added on each side of the window: clocks that disagree.
_MARGIN = 120.0
#: One page is enough for one recipient's messages within minutes; a longer listing cannot tell.
_LIMIT = "100"


class _Stored(msgspec.Struct, frozen=True, rename="camel"):
    message_id: str | None = None
    status_code: str | None = None
    custom_fields: dict[str, str] | None = None


class _Listing(msgspec.Struct, frozen=True, rename="camel"):
    message_list: dict[str, _Stored] = msgspec.field(default_factory=dict)
    next_key: str | None = None


def solapi_lookup(config: SolapiConfig) -> Lookup:
    """The message list lookup of ``config``'s API key."""
    url = config.url.rstrip("/") + LIST_PATH

    async def lookup(client: httpx.AsyncClient, target: LookupTarget) -> LookupResult:
        if not target.phone:
            return CannotTell("no recipient number to list by")
        params = {
            "to": target.phone,
            "dateType": "CREATED",
            "startDate": iso_date(target.sent_at - _MARGIN),
            "endDate": iso_date(max(target.now, target.sent_at) + _MARGIN),
            "limit": _LIMIT,
        }
        signed = authorization(config.api_key, config.api_secret, iso_date(time.time()), secrets.token_hex(16))
        try:
            response = await client.get(url, params=params, headers={"Authorization": signed})
        except httpx.HTTPError as exc:
            return CannotTell(f"lookup failed: {type(exc).__name__}")
        if response.status_code != 200:
            return CannotTell(f"lookup answered HTTP {response.status_code}")
        try:
            listing = msgspec.json.decode(response.content, type=_Listing, strict=False)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return CannotTell("lookup answer unreadable")
        for key, stored in listing.message_list.items():
            if (stored.custom_fields or {}).get("gatewayId") == target.message_id:
                message_id = stored.message_id or key
                return Found(message_id, f"message {message_id} (status {stored.status_code or 'none yet'})")
        if listing.next_key:
            return CannotTell("more messages to this recipient than one page lists")
        return NotFound(
            f"no message with our id to this recipient created {params['startDate']} to {params['endDate']}"
        )

    return lookup
