"""The campaign report API (issue 12), its numbers checked against messages sent through the sandbox here."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from adapters.emulator import Fault
from gateway.app import create_app
from gateway.dispatch.receipts import ReceiptApplier
from gateway.receipts.sandbox import SandboxCallbacks
from tests.conftest import EMAIL_BODY, LMS_BODY, SEED_BODY, Clock, make_settings, staff_headers
from tests.gateway.api.messages import Client, post_message

PRICES = "kakao=15,lms=30,email=0.5"
#: The test client of a gateway that sent campaign c-e2e, and the ids of its messages by name.
Campaign = tuple[Client, dict[str, str]]


async def _settle(app: Litestar, clock: Clock) -> None:
    """Send what is due, let the emulators report a few seconds later, and apply their reports."""
    dispatcher = app.state.dispatcher
    await dispatcher.run_once()
    clock.advance(3)
    await dispatcher.duty(SandboxCallbacks).run_once()
    await dispatcher.duty(ReceiptApplier).run_once()


async def _detail(client: Client, message_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/admin/messages/{message_id}", headers=staff_headers())
    return dict(response.json())


def _seconds_to_delivery(detail: dict[str, Any], received: dict[str, Any] | None = None) -> float:
    delivered = next(e["at"] for e in detail["timeline"] if e["status"] == "delivered")
    start = (received or detail)["message"]["createdAt"]
    return (datetime.fromisoformat(delivered) - datetime.fromisoformat(start)).total_seconds()


def _nearest_rank(values: list[float], p: float) -> float:
    return sorted(values)[math.ceil(p * len(values)) - 1]


@pytest.fixture
async def campaign(tmp_path: Path) -> AsyncIterator[Campaign]:
    """Campaign c-e2e sent through the sandbox: kakao (delivered, fell back, refused), LMS (delivered, failed),
    email (delivered, bounced); the kakao messages in dispatch d-1, the others in d-2."""
    clock = Clock()
    outcomes = "nhn_kakao:010-0000-0002=3019,nhn_sms:010-0000-0005=3015,sendgrid:bounce@example.com=bounce"
    settings = make_settings(tmp_path, GATEWAY_PRICES=PRICES, GATEWAY_SANDBOX_OUTCOMES=outcomes)
    app = create_app(settings, clock=clock, start_dispatcher=False)
    ids: dict[str, str] = {}
    async with AsyncTestClient(app) as client:
        ids["other"] = await post_message(client, {**SEED_BODY, "campaignId": "c-other", "userId": "x"})
        braze = {"campaignId": "c-e2e", "campaignName": "가을 추천"}
        kakao = {**SEED_BODY, **braze, "dispatchId": "d-1"}
        for n in (1, 2):
            ids[f"k{n}"] = await post_message(client, {**kakao, "userId": f"k{n}", "phone": f"010-0000-000{n}"})
            clock.advance(1)
        for n in (4, 5):
            lms = {**LMS_BODY, **braze, "dispatchId": "d-2", "userId": f"l{n}", "phone": f"010-0000-000{n}"}
            ids[f"l{n}"] = await post_message(client, lms)
        for name, address in (("e1", "jane@example.com"), ("e2", "bounce@example.com")):
            ids[name] = await post_message(
                client, {**EMAIL_BODY, **braze, "dispatchId": "d-2", "userId": name, "email": address}
            )
        await _settle(app, clock)
        # k3 (without fallback) is refused at send: the kakao emulator answers it with a permanent error.
        app.state.runtime.emulators["nhn_kakao"].script(Fault(vendor_code="-3006"))
        ids["k3"] = await post_message(client, {**kakao, "userId": "k3", "phone": "010-0000-0003", "fallback": "none"})
        for _ in range(3):
            await _settle(app, clock)
            clock.advance(2)
        yield client, ids


async def test_the_report_counts_what_happened_to_each_message(campaign: Campaign) -> None:
    client, ids = campaign
    details = {name: await _detail(client, message_id) for name, message_id in ids.items()}
    assert {name: d["message"]["status"] for name, d in details.items()} == {
        "other": "delivered",
        "k1": "delivered",
        "k2": "fallback",
        "k3": "dead",
        "l4": "delivered",
        "l5": "failed",
        "e1": "delivered",
        "e2": "failed",
    }
    fallback = await _detail(client, details["k2"]["message"]["childId"])
    assert fallback["message"]["status"] == "delivered"

    response = await client.get("/v1/admin/campaigns/c-e2e", headers=staff_headers())
    assert response.status_code == 200, response.text
    report = response.json()

    assert (report["by"], report["id"], report["campaignName"]) == ("campaignId", "c-e2e", "가을 추천")
    assert (report["received"], report["reached"], report["reachedRate"]) == (7, 4, round(4 / 7, 4))
    rows = {(row["channel"], row["origin"]): row for row in report["channels"]}
    assert list(rows) == [("kakao", "braze"), ("lms", "braze"), ("lms", "fallback"), ("email", "braze")]
    funnel = ("received", "accepted", "delivered", "fallback", "failed", "held", "suppressed", "unknown", "inFlight")
    assert {key: [row[k] for k in funnel] for key, row in rows.items()} == {
        ("kakao", "braze"): [3, 2, 1, 1, 1, 0, 0, 0, 0],
        ("lms", "braze"): [2, 2, 1, 0, 1, 0, 0, 0, 0],
        ("lms", "fallback"): [1, 1, 1, 0, 0, 0, 0, 0, 0],
        ("email", "braze"): [2, 2, 1, 0, 1, 0, 0, 0, 0],
    }
    assert rows[("kakao", "braze")]["deliveryRate"] == round(1 / 3, 4)
    # Cost: delivered messages at their channel's price; the kakao message that fell back counts as its LMS.
    assert [(row["unitPrice"], row["billable"], row["cost"]) for row in rows.values()] == [
        (15.0, 1, 15.0),
        (30.0, 1, 30.0),
        (30.0, 1, 30.0),
        (0.5, 1, 0.5),
    ]
    assert (report["cost"], report["currency"], report["unpriced"]) == (75.5, "KRW", [])
    # Time to delivery, from each message's own timeline; the fallback LMS from its kakao message's reception.
    k1 = _seconds_to_delivery(details["k1"])
    assert rows[("kakao", "braze")]["p50Seconds"] == rows[("kakao", "braze")]["p95Seconds"] == k1
    assert rows[("lms", "fallback")]["p50Seconds"] == _seconds_to_delivery(fallback, details["k2"])
    assert rows[("lms", "fallback")]["p50Seconds"] > _seconds_to_delivery(fallback)
    failures = {
        (f["channel"], f["origin"], f["status"], f["code"]): (f["reason"], f["count"]) for f in report["failures"]
    }
    assert failures == {
        ("kakao", "braze", "fallback", "3019"): ("not reachable by KakaoTalk: sent as LMS", 1),
        ("kakao", "braze", "dead", "-3006"): ("refused by the vendor", 1),
        ("lms", "braze", "failed", "3015"): ("undelivered (vendor receipt)", 1),
        ("email", "braze", "failed", "bounce"): ("bounced by the mail server", 1),
    }


async def test_percentiles_are_nearest_rank_over_the_delivered_messages(client: Client, app: Litestar) -> None:
    clock: Clock = app.state.clock
    ids = []
    for n, wait in enumerate((7, 1, 4, 12, 2, 9, 3)):
        body = {**LMS_BODY, "campaignId": "c-times", "userId": f"t{n}", "phone": f"010-0000-10{n:02d}"}
        ids.append(await post_message(client, body))
        clock.advance(wait)
        await _settle(app, clock)
    seconds = [_seconds_to_delivery(await _detail(client, message_id)) for message_id in ids]

    report = (await client.get("/v1/admin/campaigns/c-times", headers=staff_headers())).json()
    [lms] = report["channels"]

    assert len(set(seconds)) == 7
    assert (lms["p50Seconds"], lms["p95Seconds"]) == (_nearest_rank(seconds, 0.5), _nearest_rank(seconds, 0.95))
    assert lms["p50Seconds"] < lms["p95Seconds"] == max(seconds)


async def test_a_report_by_dispatch_id_holds_that_send_only(campaign: Campaign) -> None:
    client, _ids = campaign
    response = await client.get("/v1/admin/campaigns/d-1", params={"by": "dispatchId"}, headers=staff_headers())
    report = response.json()

    assert (report["by"], report["received"], report["reached"]) == ("dispatchId", 3, 2)
    assert [(row["channel"], row["origin"]) for row in report["channels"]] == [("kakao", "braze"), ("lms", "fallback")]


async def test_the_csv_export_holds_both_tables(campaign: Campaign) -> None:
    client, _ids = campaign
    response = await client.get("/v1/admin/campaigns/c-e2e/report.csv", headers=staff_headers())

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == 'attachment; filename="campaign-c-e2e.csv"'
    assert response.headers["cache-control"] == "no-store"
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["campaignId", "c-e2e", "campaignName", "가을 추천"]
    assert rows[1][:6] == ["received", "7", "reached", "4", "cost", "75.5"]
    header = rows.index(
        [
            "channel",
            "origin",
            "received",
            "accepted",
            "delivered",
            "fallback",
            "failed",
            "held",
            "suppressed",
            "unknown",
            "inFlight",
            "deliveryRate",
            "p50Seconds",
            "p95Seconds",
            "unitPrice",
            "billable",
            "cost",
        ]
    )
    assert rows[header + 1][:5] == ["kakao", "braze", "3", "2", "1"]
    failures = rows.index(["channel", "origin", "vendor", "status", "reason", "code", "count"])
    assert ["kakao", "braze", "nhn", "dead", "refused by the vendor", "'-3006", "1"] in rows[failures + 1 :]


async def test_recent_campaigns_list_latest_first(campaign: Campaign) -> None:
    client, _ids = campaign
    response = await client.get("/v1/admin/campaigns", headers=staff_headers())

    items = response.json()["items"]
    assert [(i["campaignId"], i["campaignName"], i["messages"], i["reached"]) for i in items] == [
        ("c-e2e", "가을 추천", 7, 4),
        ("c-other", "realtime-best-category", 1, 1),
    ]


async def test_errors_unknown_id_bad_by_and_no_token(client: Client) -> None:
    unknown = await client.get("/v1/admin/campaigns/nope", headers=staff_headers())
    bad_by = await client.get("/v1/admin/campaigns/nope", params={"by": "userId"}, headers=staff_headers())
    anonymous = await client.get("/v1/admin/campaigns/nope")
    anonymous_csv = await client.get("/v1/admin/campaigns/nope/report.csv")
    anonymous_list = await client.get("/v1/admin/campaigns")

    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"
    assert bad_by.status_code == 400
    assert [e["field"] for e in bad_by.json()["errors"]] == ["by"]
    assert anonymous.status_code == anonymous_csv.status_code == anonymous_list.status_code == 401


async def test_without_prices_the_report_has_no_cost_and_names_the_unpriced_channels(
    client: Client, app: Litestar
) -> None:
    await post_message(client, {**SEED_BODY, "campaignId": "c-free"})
    await app.state.dispatcher.run_once()

    report = (await client.get("/v1/admin/campaigns/c-free", headers=staff_headers())).json()

    assert report["cost"] is None
    assert report["unpriced"] == ["kakao"]
    assert report["channels"][0]["inFlight"] == 1


async def test_the_openapi_document_lists_the_campaign_routes(client: Client) -> None:
    schema = (await client.get("/schema/openapi.json", headers=staff_headers())).json()
    report = schema["paths"]["/v1/admin/campaigns/{campaign_id}"]["get"]

    assert report["operationId"] == "getCampaignReport"
    assert {p["name"] for p in report["parameters"]} == {"campaign_id", "by"}
    assert "CampaignReport" in report["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert (
        "text/csv"
        in schema["paths"]["/v1/admin/campaigns/{campaign_id}/report.csv"]["get"]["responses"]["200"]["content"]
    )
    assert schema["paths"]["/v1/admin/campaigns"]["get"]["operationId"] == "listCampaigns"
