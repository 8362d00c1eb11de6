"""``GET /v1/content/{source}`` through the HTTP app, against a fake upstream on a loopback port."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from litestar import Litestar
from litestar.testing import AsyncTestClient
from prometheus_client import REGISTRY

from gateway.app import create_app
from tests.conftest import Clock, ingest_headers, make_settings, staff_headers
from tests.content_upstream import FakeUpstream, Reply, fake_upstream

Client = AsyncTestClient[Litestar]
URL = "/v1/content/best"


@pytest.fixture
def upstream() -> Iterator[FakeUpstream]:
    with fake_upstream() as server:
        yield server


async def gateway(tmp_path: Path, clock: Clock, upstream: FakeUpstream, **env: str) -> AsyncIterator[Client]:
    """A gateway whose source ``best`` is the fake upstream (with a key of its own in the URL)."""
    settings = make_settings(
        tmp_path,
        GATEWAY_CONTENT_SOURCES=f"best={upstream.url}/realtime-best?key=k1, other={upstream.url}/other",
        GATEWAY_CONTENT_TTL="60",
        **env,
    )
    app = create_app(settings, clock=clock, start_dispatcher=False)
    async with AsyncTestClient(app) as client:
        yield client


@pytest.fixture
async def client(tmp_path: Path, clock: Clock, upstream: FakeUpstream) -> AsyncIterator[Client]:
    async for each in gateway(tmp_path, clock, upstream, GATEWAY_CONTENT_TIMEOUT="0.5"):
        yield each


async def settle(app: Litestar) -> None:
    """Wait until no upstream call is in flight (bounded)."""
    for _ in range(200):
        if not app.state.content._flights:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("an upstream call is still in flight")


def answers(cache: str, source: str = "best") -> float:
    return REGISTRY.get_sample_value("gateway_content_answers_total", {"source": source, "cache": cache}) or 0.0


async def test_miss_then_hit_with_the_same_query_in_any_order(client: Client, upstream: FakeUpstream) -> None:
    before = answers("hit"), answers("miss")
    first = await client.get(URL + "?category=hair&page=1", headers=ingest_headers())
    assert first.status_code == 200, first.text
    assert first.headers["x-cache"] == "MISS"
    assert first.headers["age"] == "0"
    assert first.headers["content-type"].startswith("application/json")
    assert first.json()["data"]["list"][0]["call"] == 1
    # The query is passed on, sorted, with the upstream URL's own parameters.
    assert upstream.calls == ["category=hair&page=1&key=k1"]

    second = await client.get(URL + "?page=1&category=hair", headers=ingest_headers())
    assert second.headers["x-cache"] == "HIT"
    assert second.content == first.content
    assert len(upstream.calls) == 1
    assert (answers("hit"), answers("miss")) == (before[0] + 1, before[1] + 1)


async def test_a_request_cannot_replace_the_source_url_s_own_parameters(client: Client, upstream: FakeUpstream) -> None:
    response = await client.get(URL + "?key=mine&category=hair", headers=ingest_headers())
    assert response.status_code == 200
    assert upstream.calls == ["category=hair&key=k1"]


async def test_age_counts_from_the_fetch(client: Client, clock: Clock) -> None:
    await client.get(URL + "?category=hair", headers=ingest_headers())
    clock.advance(42.7)
    later = await client.get(URL + "?category=hair", headers=ingest_headers())
    assert (later.headers["x-cache"], later.headers["age"]) == ("HIT", "42")


async def test_each_query_and_source_is_its_own_copy(client: Client, upstream: FakeUpstream) -> None:
    await client.get(URL + "?category=hair", headers=ingest_headers())
    other = await client.get(URL + "?category=pets", headers=ingest_headers())
    elsewhere = await client.get("/v1/content/other?category=hair", headers=ingest_headers())
    assert (other.headers["x-cache"], elsewhere.headers["x-cache"]) == ("MISS", "MISS")
    assert len(upstream.calls) == 3


@asynccontextmanager
async def served(tmp_path: Path, clock: Clock, upstream: FakeUpstream) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway served by uvicorn on a loopback port (the in-process test client handles one request at a
    time), with the default content settings and the source ``best``; a client with the ingest token."""
    settings = make_settings(tmp_path, GATEWAY_CONTENT_SOURCES=f"best={upstream.url}/realtime-best")
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, clock=clock), host="127.0.0.1", port=0, log_config=None, access_log=False)
    )
    serving = asyncio.create_task(server.serve())
    try:
        for _ in range(500):
            if server.started:
                break
            await asyncio.sleep(0.01)
        base = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
        async with httpx.AsyncClient(base_url=base, headers=ingest_headers(), timeout=10) as http:
            yield http
    finally:
        server.should_exit = True
        await serving


async def test_concurrent_misses_make_one_upstream_call(tmp_path: Path, clock: Clock, upstream: FakeUpstream) -> None:
    upstream.reply = Reply(delay=0.5)
    async with served(tmp_path, clock, upstream) as http:
        responses = await asyncio.gather(*(http.get(URL, params={"category": "hair"}) for _ in range(25)))
    assert {r.status_code for r in responses} == {200}
    assert {r.headers["x-cache"] for r in responses} == {"MISS"}
    assert len({r.content for r in responses}) == 1
    assert upstream.calls == ["category=hair"]


async def test_with_the_default_timeout_every_answer_leaves_within_2_s_of_a_5_s_upstream(
    tmp_path: Path, clock: Clock, upstream: FakeUpstream
) -> None:
    upstream.reply = Reply(delay=5.0)
    async with served(tmp_path, clock, upstream) as http:

        async def timed(category: str) -> tuple[int, float]:
            started = time.monotonic()
            response = await http.get(URL, params={"category": category})
            return response.status_code, time.monotonic() - started

        answers = await asyncio.gather(*(timed(f"c{n % 4}") for n in range(20)))
    assert {status for status, _ in answers} == {502}
    assert max(seconds for _, seconds in answers) < 2.0
    assert len(upstream.calls) == 4


async def test_stale_copy_answers_at_once_while_one_refresh_runs(
    client: Client, upstream: FakeUpstream, clock: Clock
) -> None:
    first = await client.get(URL + "?category=hair", headers=ingest_headers())
    clock.advance(61)
    upstream.reply = Reply(delay=0.3)
    started = time.monotonic()
    stale = await asyncio.gather(*(client.get(URL + "?category=hair", headers=ingest_headers()) for _ in range(10)))
    assert time.monotonic() - started < 0.25
    assert {(r.headers["x-cache"], r.headers["age"]) for r in stale} == {("STALE", "61")}
    assert {r.content for r in stale} == {first.content}

    await settle(client.app)
    assert len(upstream.calls) == 2
    fresh = await client.get(URL + "?category=hair", headers=ingest_headers())
    assert (fresh.headers["x-cache"], fresh.headers["age"]) == ("HIT", "0")
    assert fresh.json()["data"]["list"][0]["call"] == 2


async def test_a_failing_refresh_keeps_the_stale_copy_and_pauses_before_the_next(
    client: Client, upstream: FakeUpstream, clock: Clock
) -> None:
    first = await client.get(URL + "?category=hair", headers=ingest_headers())
    clock.advance(61)
    upstream.reply = Reply(status=503)
    errors_before = REGISTRY.get_sample_value(
        "gateway_content_upstream_errors_total", {"source": "best", "reason": "status"}
    )
    stale = await client.get(URL + "?category=hair", headers=ingest_headers())
    await settle(client.app)
    again = await client.get(URL + "?category=hair", headers=ingest_headers())
    await settle(client.app)
    assert (stale.headers["x-cache"], again.headers["x-cache"]) == ("STALE", "STALE")
    assert stale.content == again.content == first.content
    assert len(upstream.calls) == 2  # the second stale answer started no call: the failed one was just now
    errors_after = REGISTRY.get_sample_value(
        "gateway_content_upstream_errors_total", {"source": "best", "reason": "status"}
    )
    assert errors_after == (errors_before or 0) + 1

    clock.advance(6)
    upstream.reply = Reply()
    await client.get(URL + "?category=hair", headers=ingest_headers())
    await settle(client.app)
    assert len(upstream.calls) == 3
    assert (await client.get(URL + "?category=hair", headers=ingest_headers())).headers["x-cache"] == "HIT"


@pytest.mark.parametrize(
    ("reply", "detail"),
    [
        (Reply(status=500), "HTTP 500"),
        (Reply(body=b"[1, 2]"), "not a JSON object"),
        (Reply(body=b"<html>busy</html>"), "not JSON"),
        (Reply(body=b'{"data": {"items": []}}'), "no JSON list at data.list"),
        (Reply(body=b'{"data": {"list": {"title": "x"}}}'), "no JSON list at data.list"),
        (Reply(body=b'{"data": {"list": [' + b'"x", ' * 400 + b'"x"]}}'), "larger than 1,000 bytes"),
        (Reply(body=b'{"data": {"list": ["' + b"x" * 500, endless=True), "larger than 1,000 bytes"),
        (Reply(delay=5.0), "did not answer within 0.5 s"),
    ],
)
async def test_an_unusable_answer_is_502_and_never_cached(
    tmp_path: Path, clock: Clock, upstream: FakeUpstream, reply: Reply, detail: str
) -> None:
    env = {
        "GATEWAY_CONTENT_TIMEOUT": "0.5",
        "GATEWAY_CONTENT_MAX_BYTES": "1000",
        "GATEWAY_CONTENT_LIST_PATH": "data.list",
    }
    async for client in gateway(tmp_path, clock, upstream, **env):
        upstream.reply = reply
        started = time.monotonic()
        failed = await client.get(URL + "?category=hair", headers=ingest_headers())
        assert time.monotonic() - started < 1.0
        assert failed.status_code == 502
        assert failed.headers["content-type"].startswith("application/problem+json")
        assert detail in failed.json()["detail"]
        assert upstream.url not in failed.text

        upstream.reply = Reply()
        recovered = await client.get(URL + "?category=hair", headers=ingest_headers())
        assert (recovered.status_code, recovered.headers["x-cache"]) == (200, "MISS")


async def test_an_endless_body_is_not_read_past_the_limit(tmp_path: Path, clock: Clock, upstream: FakeUpstream) -> None:
    async for client in gateway(tmp_path, clock, upstream, GATEWAY_CONTENT_MAX_BYTES="100000"):
        upstream.reply = Reply(body=b"x" * 65536, endless=True)
        failed = await client.get(URL, headers=ingest_headers())
        assert failed.status_code == 502
        await asyncio.sleep(0.3)
        # What the server wrote before it saw the connection close: far from the 20,000 chunks it would send.
        assert upstream.chunks_sent < 200


async def test_the_list_path_accepts_an_empty_list(tmp_path: Path, clock: Clock, upstream: FakeUpstream) -> None:
    async for client in gateway(tmp_path, clock, upstream, GATEWAY_CONTENT_LIST_PATH="data.list"):
        upstream.reply = Reply(body=b'{"data": {"list": []}}')
        assert (await client.get(URL, headers=ingest_headers())).json() == {"data": {"list": []}}


async def test_an_upstream_that_cannot_be_reached_is_502_and_logged_without_its_url(
    tmp_path: Path, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(tmp_path, GATEWAY_CONTENT_SOURCES="best=http://127.0.0.1:9/nothing-listens?key=k1")
    async with AsyncTestClient(create_app(settings, clock=clock, start_dispatcher=False)) as client:
        failed = await client.get(URL + "?user=u-1", headers=ingest_headers())
        assert failed.status_code == 502
        assert "could not be reached" in failed.json()["detail"]
        assert "127.0.0.1:9" not in failed.text
    assert "content upstream best failed: network" in caplog.messages
    assert not [line for line in caplog.messages if "k1" in line or "u-1" in line or "127.0.0.1:9" in line]


@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token", "Basic dGVzdA=="])
async def test_without_an_ingest_token_is_401_and_calls_nothing(
    client: Client, upstream: FakeUpstream, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    for path in (URL, "/v1/content/unknown"):
        response = await client.get(path + "?category=hair", headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")
    staff = await client.get(URL, headers=staff_headers())
    assert staff.status_code == 401
    assert upstream.calls == []


async def test_an_unknown_source_is_404_problem(client: Client, upstream: FakeUpstream) -> None:
    response = await client.get("/v1/content/worst?category=hair", headers=ingest_headers())
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "GATEWAY_CONTENT_SOURCES" in response.json()["detail"]
    assert "worst" not in response.text
    assert upstream.calls == []


async def test_metrics_count_upstream_latency_per_source(client: Client) -> None:
    await client.get(URL + "?category=metrics", headers=ingest_headers())
    text = (await client.get("/metrics")).text
    assert 'gateway_content_upstream_latency_seconds_count{source="best"}' in text
    assert 'gateway_content_answers_total{cache="miss",source="best"}' in text


async def test_openapi_documents_the_route(client: Client) -> None:
    paths = (await client.get("/schema/openapi.json", headers=staff_headers())).json()["paths"]
    operation = paths["/v1/content/{source}"]["get"]
    assert operation["operationId"] == "getConnectedContent"
    assert operation["security"] == [{"bearer": []}]
    assert {"200", "401", "404", "502"} <= set(operation["responses"])
    assert list(operation["responses"]["502"]["content"]) == ["application/problem+json"]
    assert {"X-Cache", "Age"} <= set(operation["responses"]["200"]["headers"])
    assert operation["responses"]["200"]["content"]["application/json"]["schema"]["type"] == "object"
