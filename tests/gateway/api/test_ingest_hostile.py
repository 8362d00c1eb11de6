"""Hostile and random bodies: every one gets a 2xx or a 4xx problem, never a 5xx, and a refusal stores nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar import Litestar
from litestar.testing import TestClient

from gateway.app import create_app
from tests.conftest import SEED_BODY, Clock, ingest_headers, make_settings

URL = "/v1/braze/messages"
KEYS = [*SEED_BODY, "email", "subject", "buttons", "imageUrl", "vendor", "idempotencyKey", "sendId", "canvasId"]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=60),
    st.sampled_from(["", "kakao", "lms", "email", "010-1234-5678", "{{ x }}", "javascript:alert(1)", "\x00", "Y"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=8,
)
bodies = st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=10), values, max_size=12)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient[Litestar]]:
    path: Path = tmp_path_factory.mktemp("hostile")
    app = create_app(make_settings(path), clock=Clock(), start_dispatcher=False)
    with TestClient(app) as test_client:
        yield test_client


def stored(client: TestClient[Litestar]) -> int:
    with client.portal() as portal:
        counts = portal.call(client.app.state.store.count_by_status)
    return sum(counts.values())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies, seed_keys=st.booleans())
def test_random_bodies_never_break_the_gateway(
    client: TestClient[Litestar], body: dict[str, Any], seed_keys: bool
) -> None:
    payload = (SEED_BODY | body) if seed_keys else body
    before = stored(client)
    response = client.post(
        URL, content=msgspec.json.encode(payload), headers=ingest_headers(**{"Content-Type": "application/json"})
    )
    assert response.status_code in (200, 202, 400, 413, 422), response.text
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith("application/problem+json")
    assert stored(client) == before + (response.status_code == 202)


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"[" * 10_000 + b"]" * 10_000, "application/json"),
        (b'{"channel": "kakao", "channel": "lms"}', "application/json"),
        (b"\xff\xfe{}", "application/json"),
        (b'{"a": 1e999999}', "application/json"),
        (b"channel=kakao&userId=%FF%FE", "application/x-www-form-urlencoded"),
        (b"channel=kakao&" + b"x=" + b"y" * 1000, "application/x-www-form-urlencoded"),
        (b"", "application/json"),
        (b"null", "application/json"),
    ],
)
def test_hostile_bytes_are_refused_cleanly(client: TestClient[Litestar], content: bytes, content_type: str) -> None:
    before = stored(client)
    response = client.post(URL, content=content, headers=ingest_headers(**{"Content-Type": content_type}))
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert stored(client) == before
