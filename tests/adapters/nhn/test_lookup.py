"""NHN lookups after an uncertain send, against NHN's documented answers (respx)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest
import respx

from adapters.base import KST
from adapters.contract import CannotTell, Found, NotFound
from adapters.nhn.config import NHN_KAKAO_URL, NHN_SMS_URL, NhnKakaoConfig, NhnSmsConfig
from adapters.nhn.lookup import kakao_lookup, sms_lookup
from adapters.spec import LookupTarget

KAKAO = NhnKakaoConfig(appkey="kakao-appkey", secret="kakao-secret", sender_key="f" * 40)
SMS = NhnSmsConfig(appkey="sms-appkey", secret="sms-secret", send_no="15446859")
SENT_AT = datetime(2026, 12, 4, 16, 0, 30, tzinfo=KST).timestamp()
TARGET = LookupTarget(message_id="gw-1", phone="01012345678", sent_at=SENT_AT, now=SENT_AT + 120)
KAKAO_LIST = f"{NHN_KAKAO_URL}/brand-message/v1.0/appkeys/kakao-appkey/messages"
SMS_LIST = f"{NHN_SMS_URL}/sms/v3.0/appKeys/sms-appkey/sender/mms"
OK = {"resultCode": 0, "resultMessage": "SUCCESS", "isSuccessful": True}


def kakao_answer(*rows: dict[str, Any]) -> dict[str, Any]:
    return {"header": OK, "messageSearchResultResponse": {"messages": list(rows), "totalCount": len(rows)}}


@respx.mock
async def test_kakao_asks_by_request_date_window_and_grouping_key_and_finds_the_row() -> None:
    route = respx.get(KAKAO_LIST).mock(
        return_value=httpx.Response(
            200,
            json=kakao_answer(
                {"requestId": "other", "recipientGroupingKey": "gw-0", "messageStatus": "COMPLETED"},
                {"requestId": "r-1", "recipientGroupingKey": "gw-1", "messageStatus": "COMPLETED", "resultCode": ""},
            ),
        )
    )
    async with httpx.AsyncClient() as client:
        result = await kakao_lookup(KAKAO)(client, TARGET)

    assert isinstance(result, Found)
    assert result.vendor_message_id == "r-1"
    request = route.calls.last.request
    assert request.headers["X-Secret-Key"] == "kakao-secret"
    assert dict(request.url.params) == {
        "startRequestDate": "2026-12-04 15:58",
        "endRequestDate": "2026-12-04 16:04",
        "recipientGroupingKey": "gw-1",
        "pageSize": "15",
    }


@respx.mock
async def test_kakao_rows_of_other_messages_are_not_found() -> None:
    row = {"requestId": "other", "recipientGroupingKey": "gw-9"}
    respx.get(KAKAO_LIST).mock(return_value=httpx.Response(200, json=kakao_answer(row)))
    async with httpx.AsyncClient() as client:
        assert isinstance(await kakao_lookup(KAKAO)(client, TARGET), NotFound)


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(500, json={"header": {"resultCode": -9999, "isSuccessful": False}}),
        httpx.Response(200, json={"header": {"resultCode": -4103, "isSuccessful": False}}),
        httpx.Response(200, content=b"<html>proxy</html>"),
    ],
)
@respx.mock
async def test_a_lookup_nhn_does_not_answer_cannot_tell(answer: httpx.Response) -> None:
    respx.get(KAKAO_LIST).mock(return_value=answer)
    async with httpx.AsyncClient() as client:
        assert isinstance(await kakao_lookup(KAKAO)(client, TARGET), CannotTell)


@respx.mock
async def test_a_lookup_that_cannot_connect_cannot_tell() -> None:
    respx.get(SMS_LIST).mock(side_effect=httpx.ConnectError("refused"))
    async with httpx.AsyncClient() as client:
        assert isinstance(await sms_lookup(SMS)(client, TARGET), CannotTell)


@respx.mock
async def test_sms_asks_by_creation_window_and_grouping_key() -> None:
    row = {"requestId": "s-1", "recipientGroupingKey": "gw-1", "msgStatus": "2", "recipientSeq": 1}
    route = respx.get(SMS_LIST).mock(
        return_value=httpx.Response(200, json={"header": OK, "body": {"totalCount": 1, "data": [row]}})
    )
    async with httpx.AsyncClient() as client:
        result = await sms_lookup(SMS)(client, TARGET)

    assert result == Found("s-1", "LMS s-1 (status 2)")
    params = dict(route.calls.last.request.url.params)
    assert (params["startCreateDate"], params["endCreateDate"]) == ("2026-12-04 15:58:30", "2026-12-04 16:04:30")
