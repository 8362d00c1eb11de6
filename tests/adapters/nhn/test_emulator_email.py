from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import msgspec
import pytest

from adapters.base import KST
from adapters.emulator import EmulatorTransport, Fault
from adapters.nhn.config import NhnEmailConfig
from adapters.nhn.emulator_email import NhnEmailEmulator

CONFIG = NhnEmailConfig(appkey="mail-appkey", secret="mail-secret", sender_address="no-reply@wadiz.kr")
BASE = "https://email.api.nhncloudservice.com/email/v2.1/appKeys/mail-appkey/sender"
HEADERS = {"Content-Type": "application/json;charset=UTF-8", "X-Secret-Key": "mail-secret"}


def body(**changes: Any) -> dict[str, Any]:
    return {
        "senderAddress": "no-reply@wadiz.kr",
        "senderName": "와디즈",
        "title": "실시간 베스트",
        "body": "<p>서포터님, 지금 가장 핫한 프로젝트는?</p>",
        "receiverList": [{"receiveMailAddr": "supporter@example.com", "receiveType": "MRT0"}],
        "senderGroupingKey": "gw-1",
    } | changes


async def call(
    emulator: NhnEmailEmulator,
    method: str,
    url: str,
    payload: Any = None,
    *,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    content = payload if isinstance(payload, bytes) or payload is None else msgspec.json.encode(payload)
    async with httpx.AsyncClient(transport=EmulatorTransport([emulator])) as client:
        return await client.request(method, url, content=content, headers=HEADERS if headers is None else headers)


async def send(emulator: NhnEmailEmulator, payload: Any) -> httpx.Response:
    return await call(emulator, "POST", f"{BASE}/mail", payload)


async def query(emulator: NhnEmailEmulator, params: str) -> dict[str, Any]:
    response = await call(emulator, "GET", f"{BASE}/mails?{params}")
    assert response.status_code == 200
    return dict(response.json())


def header(response: httpx.Response) -> tuple[int, bool]:
    answer = response.json()["header"]
    return answer["resultCode"], answer["isSuccessful"]


async def test_accepted_send_answers_with_nhns_success_shape() -> None:
    answer = (await send(NhnEmailEmulator(CONFIG), body())).json()

    assert answer["header"] == {"resultCode": 0, "resultMessage": "success", "isSuccessful": True}
    assert len(answer["body"]["data"]["requestId"]) == 25
    assert answer["body"]["data"]["results"] == [
        {
            "receiveMailAddr": "supporter@example.com",
            "receiveName": None,
            "receiveType": "MRT0",
            "resultCode": 0,
            "resultMessage": "success",
        }
    ]


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"senderAddress": None}, -2002),
        ({"senderAddress": "no-reply"}, -2010),
        ({"senderName": "가" * 101}, -2037),
        ({"title": ""}, -2015),
        ({"title": "a" * 999}, -2034),
        ({"body": ""}, -2016),
        ({"receiverList": []}, -2001),
        ({"receiverList": [{"receiveMailAddr": "a@example.com", "receiveType": "MRT0"}] * 1001}, -2012),
        ({"receiverList": [{"receiveType": "MRT0"}]}, -2017),
        ({"receiverList": [{"receiveMailAddr": "a@", "receiveType": "MRT0"}]}, -2011),
        ({"receiverList": [{"receiveMailAddr": "a@example.com"}]}, -2018),
        ({"receiverList": [{"receiveMailAddr": "a@example.com", "receiveType": "TO"}]}, -2019),
    ],
)
async def test_invalid_sends_get_nhns_code(changes: dict[str, Any], code: int) -> None:
    response = await send(NhnEmailEmulator(CONFIG), body(**changes))

    assert response.status_code == 200
    assert header(response) == (code, False)


@pytest.mark.parametrize(
    ("url", "headers", "code"),
    [
        (f"{BASE}/mail".replace("mail-appkey", "other"), HEADERS, -1000),
        (f"{BASE}/mail", HEADERS | {"X-Secret-Key": "nope"}, -1004),
        (f"{BASE}/mail", {"Content-Type": "application/json"}, -1004),
        (f"{BASE}/mail", HEADERS | {"Content-Type": "text/html"}, -9996),
    ],
)
async def test_credentials_and_content_type_are_checked(url: str, headers: dict[str, str], code: int) -> None:
    response = await call(NhnEmailEmulator(CONFIG), "POST", url, body(), headers=headers)

    assert header(response) == (code, False)


async def test_unreadable_body_and_unknown_api() -> None:
    emulator = NhnEmailEmulator(CONFIG)

    assert header(await send(emulator, b"nope")) == (-9997, False)
    unknown = await call(emulator, "POST", f"{BASE}/eachMail", body())
    assert unknown.status_code == 404
    assert header(unknown) == (-9998, False)


async def test_query_by_request_id_reports_each_mail_with_its_configured_status() -> None:
    emulator = NhnEmailEmulator(CONFIG, outcomes={"bounce@example.com": "SST3"})
    receivers = [
        {"receiveMailAddr": "supporter@example.com", "receiveType": "MRT0"},
        {"receiveMailAddr": "bounce@example.com", "receiveType": "MRT0"},
    ]
    request_id = (await send(emulator, body(receiverList=receivers))).json()["body"]["data"]["requestId"]
    await send(emulator, body(senderGroupingKey="gw-other"))

    answer = await query(emulator, f"requestId={request_id}")

    assert answer["header"]["isSuccessful"] is True
    assert answer["body"]["totalCount"] == 2
    rows = answer["body"]["data"]
    assert [(r["mailSeq"], r["mailStatusCode"], r["dsnCode"], r["isReceived"]) for r in rows] == [
        (0, "SST2", "2.5.0", True),
        (1, "SST3", "5.1.1", False),
    ]
    assert {r["senderGroupingKey"] for r in rows} == {"gw-1"}
    assert {r["requestId"] for r in rows} == {request_id}


async def test_query_by_grouping_key_within_a_send_time_window() -> None:
    emulator = NhnEmailEmulator(CONFIG)
    await send(emulator, body(senderGroupingKey="gw-1"))
    await send(emulator, body(senderGroupingKey="gw-2"))
    now = datetime.now(KST)
    start = (now - timedelta(minutes=5)).strftime("%Y-%m-%d+%H:%M:%S")
    end = (now + timedelta(minutes=5)).strftime("%Y-%m-%d+%H:%M:%S")
    earlier = (now - timedelta(hours=2)).strftime("%Y-%m-%d+%H:%M:%S")

    found = await query(emulator, f"startSendDate={start}&endSendDate={end}&senderGroupingKey=gw-2")
    too_early = await query(emulator, f"startSendDate={earlier}&endSendDate={earlier}&senderGroupingKey=gw-2")

    assert [r["senderGroupingKey"] for r in found["body"]["data"]] == ["gw-2"]
    assert too_early["body"]["data"] == []


async def test_query_pages() -> None:
    emulator = NhnEmailEmulator(CONFIG)
    receivers = [{"receiveMailAddr": f"u{i}@example.com", "receiveType": "MRT0"} for i in range(3)]
    request_id = (await send(emulator, body(receiverList=receivers))).json()["body"]["data"]["requestId"]

    second = await query(emulator, f"requestId={request_id}&pageNum=2&pageSize=2")

    assert second["body"]["totalCount"] == 3
    assert [r["mailSeq"] for r in second["body"]["data"]] == [2]


@pytest.mark.parametrize(
    ("params", "code"),
    [("senderGroupingKey=gw-1", -2009), ("startSendDate=2025-06-10", -2009), ("requestId=x&pageSize=0", -9995)],
)
async def test_query_needs_a_request_id_or_a_window(params: str, code: int) -> None:
    response = await call(NhnEmailEmulator(CONFIG), "GET", f"{BASE}/mails?{params}")

    assert header(response) == (code, False)


async def test_query_checks_the_secret_key() -> None:
    response = await call(NhnEmailEmulator(CONFIG), "GET", f"{BASE}/mails?requestId=x", headers={})

    assert header(response) == (-1004, False)


async def test_reset_forgets_accepted_mails() -> None:
    emulator = NhnEmailEmulator(CONFIG)
    request_id = (await send(emulator, body())).json()["body"]["data"]["requestId"]

    emulator.reset()

    assert (await query(emulator, f"requestId={request_id}"))["body"]["data"] == []


async def test_scripted_temporary_block_answers_with_nhns_message() -> None:
    emulator = NhnEmailEmulator(CONFIG)
    emulator.script(Fault(vendor_code="-1005"))

    response = await send(emulator, body())

    assert response.json()["header"] == {
        "resultCode": -1005,
        "resultMessage": "Service is temporarily blocked",
        "isSuccessful": False,
    }


async def test_the_oldest_requests_are_forgotten_beyond_the_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("adapters.nhn.emulator_email.MAX_PENDING", 1)
    emulator = NhnEmailEmulator(CONFIG)
    first = (await send(emulator, body())).json()["body"]["data"]["requestId"]
    second = (await send(emulator, body())).json()["body"]["data"]["requestId"]

    assert (await query(emulator, f"requestId={first}"))["body"]["data"] == []
    assert len((await query(emulator, f"requestId={second}"))["body"]["data"]) == 1


@pytest.mark.parametrize(
    ("path", "title", "code"),
    [
        ("ad-mail", "(광고) 실시간 베스트", 0),
        ("ad-mail", "(AD) best", 0),
        ("ad-mail", "(広告) ベスト", 0),
        ("ad-mail", "실시간 베스트", -2023),
        ("ad-mail", "실시간 베스트 (광고)", -2023),
        ("mail", "실시간 베스트", 0),
    ],
)
async def test_an_advertising_title_must_start_with_the_ad_mark(path: str, title: str, code: int) -> None:
    response = await call(NhnEmailEmulator(CONFIG), "POST", f"{BASE}/{path}", body(title=title))

    assert header(response) == (code, code == 0)
