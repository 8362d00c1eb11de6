"""Refused ingests in the console (issue 11): "refused" beside the states in the search, a detail page, a tile."""

from __future__ import annotations

from litestar import Litestar

from tests.conftest import SEED_BODY, Clock, ingest_headers
from tests.gateway.api.messages import Client
from tests.gateway.console.helpers import sign_in

NO_PHONE = SEED_BODY | {"phone": "", "email": "jane@example.com"}


async def test_refused_is_a_status_choice_that_lists_refusals_and_opens_one(client: Client) -> None:
    await client.post("/v1/braze/messages", json=NO_PHONE, headers=ingest_headers())
    await sign_in(client)

    form = await client.get("/admin/messages")
    assert '<option value="refused"' in form.text
    found = await client.get("/admin/messages", params={"status": "refused", "userId": SEED_BODY["userId"]})
    assert found.status_code == 200
    assert "<code>phone</code>" in found.text
    assert "일괄 재발송 Bulk replay" not in found.text
    link = found.text.split('href="/admin/refusals/', 1)[1].split('"', 1)[0]

    page = await client.get(f"/admin/refusals/{link}")
    assert page.status_code == 200
    assert "missing; KakaoTalk and LMS need the recipient&#39;s mobile number" in page.text
    assert "j***@example.com" in page.text
    assert "jane@example.com" not in page.text
    assert (await client.get("/admin/refusals/nope")).status_code == 404


async def test_no_refusals_found_says_so(client: Client) -> None:
    await sign_in(client)
    page = await client.get("/admin/messages", params={"status": "refused", "userId": "nobody"})
    assert "No refused requests found." in page.text


async def test_the_dashboard_counts_refused_requests(client: Client, app: Litestar, clock: Clock) -> None:
    await client.post("/v1/braze/messages", json=NO_PHONE, headers=ingest_headers())
    clock.advance(1)
    await sign_in(client)
    page = await client.get("/admin")
    tile = page.text.split('href="/admin/messages?status=refused', 1)[1].split("</a>", 1)[0]
    assert "<b>1</b>" in tile
