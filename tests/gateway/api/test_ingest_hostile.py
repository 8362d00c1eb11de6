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
from tests.conftest import EMAIL_BODY, LMS_BODY, SEED_BODY, Clock, ingest_headers, make_settings

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
    if response.status_code == 422:
        assert response.json()["errors"], response.text
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


def _json(body: dict[str, Any]) -> tuple[bytes, str]:
    return msgspec.json.encode(body), "application/json"


def _deep(levels: int) -> bytes:
    return b'{"channel": "kakao", "x": ' + b"[" * levels + b"]" * levels + b"}"


_HOSTILE_LINK = "https://wadiz.kr\u202e.evil/x"
# What the adversarial runs sent, what it must be answered, and the field (422) or words (400) the answer names.
_HOSTILE: dict[str, tuple[tuple[bytes, str], int, str]] = {
    "channel of NUL": (_json(SEED_BODY | {"channel": "\u0000"}), 422, "channel"),
    "userId of NUL": (_json(SEED_BODY | {"userId": "\u0000"}), 422, "userId"),
    "phone of NUL": (_json(SEED_BODY | {"phone": "\u0000"}), 422, "phone"),
    "phone of BEL": (_json(SEED_BODY | {"phone": "\u0007"}), 422, "phone"),
    "phone of a zero-width space": (_json(SEED_BODY | {"phone": "\u200b"}), 422, "phone"),
    "kakao content of DEL": (_json(SEED_BODY | {"content": "\u007f"}), 422, "content"),
    "lms content of control characters": (_json(LMS_BODY | {"content": "\u0000\u0001"}), 422, "content"),
    "content of replacement characters": (_json(SEED_BODY | {"content": "\ufffd\ufffd"}), 422, "content"),
    "content of a bidi override": (_json(SEED_BODY | {"content": "\u202e"}), 422, "content"),
    "email of NUL": (_json(EMAIL_BODY | {"email": "\u0000"}), 422, "email"),
    "email subject of format characters": (_json(EMAIL_BODY | {"subject": "\u200b\u2060"}), 422, "subject"),
    "form content %FF%FE": (
        (
            b"channel=kakao&userId=u1&phone=010-1234-5678&content=%FF%FE",
            "application/x-www-form-urlencoded",
        ),
        422,
        "content",
    ),
    "a host with a bidi override": (
        _json(SEED_BODY | {"buttonLinkMobile": _HOSTILE_LINK, "buttonLinkPC": None}),
        422,
        "buttonLinkMobile",
    ),
    "a host with NUL": (_json(SEED_BODY | {"buttonLinkPC": "https://wadiz.kr\u0000.evil"}), 422, "buttonLinkPC"),
    "userId of 100,000 characters": (_json(SEED_BODY | {"userId": "u" * 100_000}), 422, "userId"),
    "campaignName of 10,000 characters": (_json(SEED_BODY | {"campaignName": "c" * 10_000}), 422, "campaignName"),
    "nested 33 levels": ((_deep(32), "application/json"), 400, "more than 32 levels deep"),
    "nested 1,000 levels": ((_deep(1_000), "application/json"), 400, "more than 32 levels deep"),
    "nested 50,000 levels": ((_deep(50_000), "application/json"), 400, "more than 32 levels deep"),
    "a second phone": (
        (b'{"channel": "kakao", "phone": "010-1234-5678", "phone": "010-9999-0000"}', "application/json"),
        400,
        'The key "phone" is given twice',
    ),
    "a key twice in a button": (
        (b'{"channel": "kakao", "buttons": [{"name": "a", "name": "b"}]}', "application/json"),
        400,
        'The key "name" is given twice',
    ),
    "a form key twice": (
        (b"channel=kakao&phone=010-1234-5678&phone=010-9999-0000", "application/x-www-form-urlencoded"),
        400,
        'The key "phone" is given twice',
    ),
}


@pytest.mark.parametrize(("sent", "status", "named"), list(_HOSTILE.values()), ids=list(_HOSTILE))
def test_hostile_bodies_are_refused_naming_the_problem(
    client: TestClient[Litestar], sent: tuple[bytes, str], status: int, named: str
) -> None:
    content, content_type = sent
    before = stored(client)
    response = client.post(URL, content=content, headers=ingest_headers(**{"Content-Type": content_type}))
    assert response.status_code == status, response.text
    problem = response.json()
    if status == 422:
        assert named in [error["field"] for error in problem["errors"]], problem
    else:
        assert named in problem["detail"]
    assert stored(client) == before


def test_an_idempotency_key_header_over_its_limit_is_refused(client: TestClient[Litestar]) -> None:
    headers = ingest_headers(**{"Idempotency-Key": "k" * 1001})
    response = client.post(URL, json=SEED_BODY, headers=headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"
