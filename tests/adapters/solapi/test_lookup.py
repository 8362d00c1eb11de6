"""Solapi lookup after an uncertain send, against Solapi's documented list answer (respx)."""

from __future__ import annotations

from collections.abc import Mapping

import httpx
import respx

from adapters.contract import CannotTell, Found, NotFound
from adapters.solapi.config import SOLAPI_URL, SolapiConfig
from adapters.solapi.lookup import LIST_PATH, solapi_lookup
from adapters.spec import LookupTarget

CONFIG = SolapiConfig(api_key="key", api_secret="secret", pf_id="KA01PF2506", send_no="0212345678")
TARGET = LookupTarget(message_id="gw-1", phone="01012345678", sent_at=1_796_000_000.0, now=1_796_000_120.0)
URL = SOLAPI_URL.rstrip("/") + LIST_PATH


def listing(*stored: Mapping[str, object], next_key: str | None = None) -> httpx.Response:
    messages = {str(item["messageId"]): item for item in stored}
    return httpx.Response(200, json={"startKey": None, "nextKey": next_key, "limit": 100, "messageList": messages})


@respx.mock
async def test_the_recipients_messages_are_listed_and_ours_found_by_its_custom_field() -> None:
    route = respx.get(URL).mock(
        return_value=listing(
            {"messageId": "M1", "statusCode": "4000", "customFields": {"gatewayId": "gw-0"}},
            {"messageId": "M2", "statusCode": "3000", "customFields": {"gatewayId": "gw-1"}},
        )
    )
    async with httpx.AsyncClient() as client:
        result = await solapi_lookup(CONFIG)(client, TARGET)

    assert result == Found("M2", "message M2 (status 3000)")
    request = route.calls.last.request
    assert request.headers["Authorization"].startswith("HMAC-SHA256 apiKey=key, date=")
    params = dict(request.url.params)
    assert (params["to"], params["dateType"]) == ("01012345678", "CREATED")
    assert (params["startDate"], params["endDate"]) == ("2026-11-30T00:51:20Z", "2026-11-30T00:57:20Z")


@respx.mock
async def test_none_of_ours_on_the_only_page_is_not_found_but_more_pages_cannot_tell() -> None:
    other = {"messageId": "M1", "customFields": {"gatewayId": "gw-0"}}
    respx.get(URL).mock(side_effect=[listing(other), listing(other, next_key="k2")])
    async with httpx.AsyncClient() as client:
        assert isinstance(await solapi_lookup(CONFIG)(client, TARGET), NotFound)
        assert isinstance(await solapi_lookup(CONFIG)(client, TARGET), CannotTell)


@respx.mock
async def test_a_refused_lookup_cannot_tell() -> None:
    respx.get(URL).mock(return_value=httpx.Response(403, json={"errorCode": "SignatureDoesNotMatch"}))
    async with httpx.AsyncClient() as client:
        assert isinstance(await solapi_lookup(CONFIG)(client, TARGET), CannotTell)
