"""``POST /v1/braze/messages`` through the real HTTP app."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from prometheus_client import REGISTRY

from gateway.app import create_app
from gateway.models import Status
from gateway.normalise.unknown_keys import BODY_KEYS
from gateway.store import MessageFilter
from tests.conftest import SEED_BODY, Clock, ingest_headers, make_settings, staff_headers

URL = "/v1/braze/messages"
_IGNORED = "gateway_ingest_ignored_fields_total"
Client = AsyncTestClient[Litestar]


def _sample(name: str, **labels: str) -> float:
    """A counter's current value (counters are process-wide: tests compare before and after)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def count_messages(app: Litestar) -> int:
    counts = await app.state.store.count_by_status()
    return sum(counts.values())


async def test_seed_body_is_stored_and_answered_202(client: Client, app: Litestar) -> None:
    response = await client.post(URL, json=SEED_BODY, headers=ingest_headers())
    assert response.status_code == 202
    answer = response.json()
    assert answer["status"] == "queued"
    assert answer["duplicate"] is False
    detail = await app.state.store.get(answer["messageId"])
    assert detail.record.status is Status.QUEUED
    assert detail.record.message.phone == "01012345678"
    assert "🎉" in detail.record.message.content
    assert msgspec.json.decode(detail.raw_body) == SEED_BODY


async def test_form_encoded_body_with_string_values(client: Client, app: Litestar) -> None:
    form = {k: v for k, v in SEED_BODY.items()} | {"ad": "Y", "imageUrl": ""}
    response = await client.post(
        URL, content=urlencode(form), headers=ingest_headers(**{"Content-Type": "application/x-www-form-urlencoded"})
    )
    assert response.status_code == 202, response.text
    detail = await app.state.store.get(response.json()["messageId"])
    assert detail.record.message.buttons[0].name == "지금 확인하기"
    assert detail.record.message.image_url is None


async def test_same_body_twice_is_one_message(client: Client, app: Litestar) -> None:
    first = await client.post(URL, json=SEED_BODY, headers=ingest_headers())
    second = await client.post(URL, json=SEED_BODY, headers=ingest_headers())
    assert (first.status_code, second.status_code) == (202, 200)
    assert second.json()["messageId"] == first.json()["messageId"]
    assert second.json()["duplicate"] is True
    assert await count_messages(app) == 1


async def test_idempotency_key_header_wins_over_body(client: Client, app: Litestar) -> None:
    first = await client.post(URL, json=SEED_BODY, headers=ingest_headers(**{"Idempotency-Key": "k-1"}))
    repeat = SEED_BODY | {"idempotencyKey": "another-key"}
    second = await client.post(URL, json=repeat, headers=ingest_headers(**{"Idempotency-Key": "k-1"}))
    assert (second.status_code, second.json()["messageId"]) == (200, first.json()["messageId"])
    third = await client.post(URL, json=repeat, headers=ingest_headers(**{"Idempotency-Key": "k-2"}))
    assert third.status_code == 202
    assert await count_messages(app) == 2


async def test_an_explicit_key_reused_by_another_user_makes_another_message(client: Client, app: Litestar) -> None:
    first = await client.post(URL, json=SEED_BODY | {"idempotencyKey": "same"}, headers=ingest_headers())
    other_user = SEED_BODY | {"idempotencyKey": "same", "userId": "u-other"}
    second = await client.post(URL, json=other_user, headers=ingest_headers())
    assert (first.status_code, second.status_code) == (202, 202)
    assert second.json()["messageId"] != first.json()["messageId"]
    assert await count_messages(app) == 2


async def test_an_explicit_key_reused_for_a_different_message_is_409_naming_the_first(
    client: Client, app: Litestar
) -> None:
    first = await client.post(URL, json=SEED_BODY, headers=ingest_headers(**{"Idempotency-Key": "k-1"}))
    changed = SEED_BODY | {"content": "다른 본문", "dispatchId": "d-other"}
    second = await client.post(URL, json=changed, headers=ingest_headers(**{"Idempotency-Key": "k-1"}))
    first_id = first.json()["messageId"]
    assert second.status_code == 409
    assert second.json()["messageId"] == first_id
    assert f"already used for message {first_id}, with a different content, Braze ids" in second.json()["detail"]
    assert await count_messages(app) == 1
    (refusal,) = (await app.state.store.search_refusals(MessageFilter(user_id=SEED_BODY["userId"]), limit=5)).items
    assert (refusal.http_status, refusal.message_id) == (409, first_id)


async def test_a_braze_id_repeat_with_other_content_is_a_duplicate_written_on_the_first_timeline(
    client: Client, app: Litestar
) -> None:
    before = _sample("gateway_ingest_changed_repeats_total", key_kind="braze")
    first = await client.post(URL, json=SEED_BODY, headers=ingest_headers())
    second = await client.post(URL, json=SEED_BODY | {"content": "다시 렌더링된 본문"}, headers=ingest_headers())
    first_id = first.json()["messageId"]
    assert (second.status_code, second.json()["messageId"], second.json()["duplicate"]) == (200, first_id, True)
    detail = await app.state.store.get(first_id)
    assert detail.events[-1].reason == (
        "a repeat with the same Braze ids arrived with a different content: answered as a duplicate of this "
        "message, the repeat was not sent"
    )
    assert _sample("gateway_ingest_changed_repeats_total", key_kind="braze") == before + 1


async def test_unknown_keys_are_listed_in_the_answer_on_the_timeline_and_in_a_metric(
    client: Client, app: Litestar
) -> None:
    similar, unknown = _sample(_IGNORED, kind="similar"), _sample(_IGNORED, kind="unknown")
    body = SEED_BODY | {"button_name": "보기", "favouriteColour": "blue"}
    response = await client.post(URL, json=body, headers=ingest_headers())
    assert response.status_code == 202
    assert response.json()["ignoredFields"] == [
        {"field": "button_name", "similarTo": "buttonName"},
        {"field": "favouriteColour"},
    ]
    detail = await app.state.store.get(response.json()["messageId"])
    assert (
        detail.events[0].reason == "received; fields not read: button_name (did you mean buttonName?), favouriteColour"
    )
    assert (_sample(_IGNORED, kind="similar"), _sample(_IGNORED, kind="unknown")) == (similar + 1, unknown + 1)


@pytest.mark.parametrize("content_type", [None, "application/x-www-form-urlencoded"])
async def test_a_json_body_sent_as_form_data_is_told_to_send_json(client: Client, content_type: str | None) -> None:
    headers = ingest_headers(**({"Content-Type": content_type} if content_type else {}))
    response = await client.post(URL, content=msgspec.json.encode(SEED_BODY), headers=headers)
    assert response.status_code == 415
    assert "looks like JSON" in response.json()["detail"]
    assert "send Content-Type: application/json" in response.json()["detail"]


@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token", "Basic dGVzdA==", "Bearer "])
async def test_missing_or_wrong_token_is_401(client: Client, app: Litestar, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = await client.post(URL, json=SEED_BODY, headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "wrong-token" not in response.text
    assert await count_messages(app) == 0


async def test_malformed_json_is_400(client: Client, app: Litestar) -> None:
    response = await client.post(
        URL, content=b'{"channel": "kakao",', headers=ingest_headers(**{"Content-Type": "application/json"})
    )
    assert response.status_code == 400
    assert response.json()["status"] == 400
    not_object = await client.post(URL, json=["kakao"], headers=ingest_headers())
    assert not_object.status_code == 400
    assert await count_messages(app) == 0


async def test_other_content_type_is_415(client: Client, app: Litestar) -> None:
    response = await client.post(URL, content=b"hello", headers=ingest_headers(**{"Content-Type": "text/plain"}))
    assert response.status_code == 415
    assert "application/json" in response.json()["detail"]
    assert await count_messages(app) == 0


async def test_body_over_limit_is_413(client: Client, app: Litestar) -> None:
    body = SEED_BODY | {"content": "가" * 200_000}
    response = await client.post(URL, json=body, headers=ingest_headers())
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")
    assert await count_messages(app) == 0


async def test_unsendable_body_is_422_naming_every_field(client: Client, app: Litestar) -> None:
    body: dict[str, Any] = {
        "channel": "kakao",
        "userId": "",
        "phone": "02-123-4567",
        "content": "{{ ${first_name} }}님 안녕하세요",
        "buttonName": "보기",
        "buttonLinkMobile": "javascript:alert(1)",
    }
    response = await client.post(URL, json=body, headers=ingest_headers())
    assert response.status_code == 422
    problem = response.json()
    fields = {error["field"] for error in problem["errors"]}
    assert {"userId", "phone", "content", "buttonLinkMobile"} <= fields
    assert "02-123-4567" not in response.text
    assert await count_messages(app) == 0


async def test_unknown_keys_are_kept_in_the_raw_body(client: Client, app: Litestar) -> None:
    body = SEED_BODY | {"favouriteColour": "blue"}
    response = await client.post(URL, json=body, headers=ingest_headers())
    detail = await app.state.store.get(response.json()["messageId"])
    assert msgspec.json.decode(detail.raw_body)["favouriteColour"] == "blue"


async def test_healthz_and_readyz_and_metrics(client: Client) -> None:
    assert (await client.get("/healthz")).json()["status"] == "ok"
    ready = await client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"]["store"] is True
    await client.post(URL, json=SEED_BODY, headers=ingest_headers())
    metrics = await client.get("/metrics")
    assert 'gateway_ingest_total{outcome="queued"}' in metrics.text


async def test_the_heap_built_at_start_is_frozen_out_of_garbage_collection(app: Litestar) -> None:
    gc.unfreeze()
    async with AsyncTestClient(app):
        assert gc.get_freeze_count() > 0


async def test_openapi_schema_is_for_staff_and_names_the_routes(client: Client) -> None:
    assert (await client.get("/schema/openapi.json")).status_code == 401
    schema = (await client.get("/schema/openapi.json", headers=staff_headers())).json()
    assert schema["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert "/v1/braze/messages" in schema["paths"]
    assert schema["paths"]["/v1/braze/messages"]["post"]["operationId"] == "receiveBrazeMessage"


async def test_openapi_documents_each_route_s_answers_and_authentication(client: Client) -> None:
    paths = (await client.get("/schema/openapi.json", headers=staff_headers())).json()["paths"]
    ingest = paths["/v1/braze/messages"]["post"]
    bulk = paths["/v1/admin/replay"]["post"]

    assert sorted(ingest["responses"]) == ["200", "202", "400", "401", "409", "413", "415", "422", "429", "503"]
    assert list(ingest["responses"]["422"]["content"]) == ["application/problem+json"]
    assert ingest["security"] == [{"bearer": []}]
    body = ingest["requestBody"]["content"]
    assert set(body) == {"application/json", "application/x-www-form-urlencoded"}
    assert set(SEED_BODY) <= set(body["application/json"]["schema"]["properties"])
    assert body["application/json"]["schema"]["required"] == ["channel", "userId", "content"]
    assert paths["/v1/admin/messages/{message_id}"]["get"]["security"] == [{"bearer": []}]
    assert {"200", "202", "403"} <= set(bulk["responses"])
    assert "401" in paths["/v1/callbacks/sendgrid"]["post"]["responses"]
    assert "security" not in paths["/v1/callbacks/sendgrid"]["post"]
    assert "security" not in paths["/healthz"]["get"]
    assert "503" in paths["/readyz"]["get"]["responses"]


async def test_openapi_ingest_schema_has_every_body_key_and_no_litestar_handler_routes(client: Client) -> None:
    paths = (await client.get("/schema/openapi.json", headers=staff_headers())).json()["paths"]
    properties = paths["/v1/braze/messages"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert set(properties["properties"]) == set(BODY_KEYS)
    assert "scoped to the user and the channel" in paths["/v1/braze/messages"]["post"]["description"]
    summaries = [operation.get("summary") for path in paths.values() for operation in path.values()]
    assert "Handler" not in summaries
    assert not [path for path in paths if path.startswith("/schema")]


async def test_vendor_chosen_per_message(client: Client, app: Litestar) -> None:
    response = await client.post(URL, json=SEED_BODY | {"vendor": "solapi"}, headers=ingest_headers())
    assert response.status_code == 202, response.text
    detail = await app.state.store.get(response.json()["messageId"])
    assert detail.record.vendor == "solapi"
    wrong = await client.post(URL, json=SEED_BODY | {"vendor": "sendgrid", "dispatchId": "x"}, headers=ingest_headers())
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["field"] == "vendor"


async def test_queue_over_its_high_water_mark_is_429_with_retry_after(tmp_path: Path, clock: Clock) -> None:
    app = create_app(make_settings(tmp_path, GATEWAY_QUEUE_HIGH_WATER="2"), clock=clock, start_dispatcher=False)
    async with AsyncTestClient(app) as client:
        for n in range(3):
            await client.post(URL, json=SEED_BODY | {"dispatchId": f"d-{n}"}, headers=ingest_headers())
        await app.state.monitor.refresh()
        assert 'gateway_queue_depth{status="queued"} 3.0' in (await client.get("/metrics")).text
        response = await client.post(URL, json=SEED_BODY | {"dispatchId": "d-9"}, headers=ingest_headers())
        assert response.status_code == 429
        assert response.headers["retry-after"] == "30"
        await app.state.dispatcher.run_once()
        await app.state.monitor.refresh()
        again = await client.post(URL, json=SEED_BODY | {"dispatchId": "d-9"}, headers=ingest_headers())
        assert again.status_code == 202


async def test_metrics_answer_prometheus_content_type_once_and_no_created_series(client: Client) -> None:
    await client.post(URL, json=SEED_BODY, headers=ingest_headers())
    metrics = await client.get("/metrics")
    assert metrics.headers["content-type"] == "text/plain; version=1.0.0; charset=utf-8"
    assert "_created" not in metrics.text
    assert "gateway_ingest_total" in metrics.text


async def test_head_healthz_is_200_and_the_root_leads_to_the_console(client: Client) -> None:
    alive = await client.head("/healthz")
    assert (alive.status_code, alive.content) == (200, b"")
    root = await client.get("/", follow_redirects=False)
    assert (root.status_code, root.headers["location"]) == (302, "/admin")
