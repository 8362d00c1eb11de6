"""The ASGI fast path of ``POST /v1/braze/messages`` answers exactly as the Litestar route does.

Each request is sent twice through the same running app: once through :class:`GatewayApp` (the fast path) and
once through ``Litestar.__call__`` (Litestar's routing to ``receive_braze_message``), and the two answers'
ASGI messages are compared byte for byte (message ids aside).
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from gateway.api.ingest_asgi import INGEST_PATH, GatewayApp
from gateway.app import create_app
from gateway.store import MessageFilter
from tests.conftest import INGEST_TOKEN, LMS_BODY, SEED_BODY, Clock, make_settings

Message = dict[str, Any]
_JSON = [(b"content-type", b"application/json"), (b"authorization", f"Bearer {INGEST_TOKEN}".encode())]
_ID = re.compile(rb'"messageId":"[0-9a-f]{28}"')


@pytest.fixture
async def app(tmp_path: Path, clock: Clock) -> AsyncIterator[GatewayApp]:
    """A running gateway (lifespan entered) with a 2 KiB body limit."""
    gateway = create_app(make_settings(tmp_path, GATEWAY_MAX_BODY_BYTES="2048"), clock=clock, start_dispatcher=False)
    assert isinstance(gateway, GatewayApp)
    async with AsyncTestClient(gateway):
        yield gateway


def _scope(headers: list[tuple[bytes, bytes]], method: str = "POST", **extra: Any) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": INGEST_PATH,
        "raw_path": INGEST_PATH.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
        "state": {},
        **extra,
    }


async def _call(
    app: GatewayApp, fast: bool, chunks: list[bytes], headers: list[tuple[bytes, bytes]], **scope: Any
) -> list[Message]:
    """The ASGI messages the app sends for a request whose body arrives in ``chunks`` (then a disconnect)."""
    events: list[Message] = [
        {"type": "http.request", "body": chunk, "more_body": index < len(chunks) - 1}
        for index, chunk in enumerate(chunks)
    ]
    sent: list[Message] = []

    async def receive() -> Message:
        return events.pop(0) if events else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    call = app.__call__ if fast else Litestar.__call__.__get__(app)
    await call(_scope(headers, **scope), receive, send)
    return sent


def _without_ids(sent: list[Message]) -> list[Message]:
    return [
        {**message, "body": _ID.sub(b'"messageId":"?"', message["body"])} if "body" in message else message
        for message in sent
    ]


async def _both(
    app: GatewayApp,
    body: bytes | list[bytes],
    headers: list[tuple[bytes, bytes]] = _JSON,
    *,
    routed_body: bytes | None = None,
    **scope: Any,
) -> list[Message]:
    """Send the request through the fast path and through Litestar; assert the same answer and return it.

    ``routed_body`` is what Litestar gets instead of ``body`` when the same body twice would be a repeat.
    """
    chunks = body if isinstance(body, list) else [body]
    fast = await _call(app, True, chunks, headers, **scope)
    routed = await _call(app, False, chunks if routed_body is None else [routed_body], headers, **scope)
    assert _without_ids(fast) == _without_ids(routed)
    return fast


def _status(sent: list[Message]) -> int:
    status: int = sent[0]["status"]
    return status


def _json(sent: list[Message]) -> Any:
    return msgspec.json.decode(sent[1]["body"])


def _with(body: dict[str, Any], **changes: Any) -> bytes:
    return msgspec.json.encode(body | changes)


async def test_a_good_body_is_stored_and_answered_like_the_route(app: GatewayApp) -> None:
    sent = await _both(app, _with(SEED_BODY, userId="u-a"), routed_body=_with(SEED_BODY, userId="u-z"))
    assert _status(sent) == 202
    assert dict(sent[0]["headers"]) == {b"content-type": b"application/json", b"content-length": b"99"}
    answer = _json(sent)
    detail = await app.state.store.get(answer["messageId"])
    assert detail.raw_body == _with(SEED_BODY, userId="u-a")
    assert sum((await app.state.store.count_by_status()).values()) == 2


async def test_a_repeat_an_ignored_key_and_a_dry_run_are_answered_like_the_route(app: GatewayApp) -> None:
    fast, routed = _with(LMS_BODY, userId="u-b", buttonname="x"), _with(LMS_BODY, userId="u-y", buttonname="x")
    first = await _both(app, fast, routed_body=routed)
    assert _status(first) == 202
    assert _json(first)["ignoredFields"] == [{"field": "buttonname", "similarTo": "buttonName"}]
    repeat = await _both(app, fast, routed_body=routed)
    assert (_status(repeat), _json(repeat)["duplicate"]) == (200, True)
    preview = await _both(app, _with(LMS_BODY, userId="u-c"), [*_JSON, (b"dry-run", b"true")])
    assert (_status(preview), _json(preview)["dryRun"]) == (200, True)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (_with(SEED_BODY, phone="", userId="u-d"), 422),
        (b'{"channel": "kakao",', 400),
        (b"[1, 2]", 400),
        (b'{"a": 1, "a": 2}', 400),
    ],
)
async def test_bad_bodies_are_refused_and_kept_like_the_route(app: GatewayApp, body: bytes, status: int) -> None:
    sent = await _both(app, body)
    assert _status(sent) == status
    assert dict(sent[0]["headers"])[b"content-type"] == b"application/problem+json"
    assert _json(sent)["status"] == status
    refusals = await app.state.store.search_refusals(MessageFilter(), limit=10)
    assert [refusal.http_status for refusal in refusals.items] == [status, status]


@pytest.mark.parametrize(
    "headers",
    [
        [(b"content-type", b"application/json")],
        [(b"content-type", b"application/json"), (b"authorization", b"Bearer wrong")],
        [(b"content-type", b"application/json"), (b"authorization", b"Basic " + INGEST_TOKEN.encode())],
        # Only the first of two Authorization headers counts, as with Litestar's headers.
        [(b"authorization", b"Bearer wrong"), (b"authorization", f"Bearer {INGEST_TOKEN}".encode())],
    ],
)
async def test_authentication_failures_are_401_with_the_challenge(
    app: GatewayApp, headers: list[tuple[bytes, bytes]]
) -> None:
    sent = await _both(app, _with(SEED_BODY, userId="u-e"), headers)
    assert _status(sent) == 401
    assert sent[0]["headers"][0] == (b"www-authenticate", b'Bearer realm="gateway"')
    assert await app.state.store.count_by_status() == {}


async def test_a_form_body_and_a_json_body_sent_as_a_form_are_read_like_the_route(app: GatewayApp) -> None:
    form = [(b"content-type", b"application/x-www-form-urlencoded"), _JSON[1]]
    form_body = b"channel=lms&userId=u-f&phone=010-9876-5432&content=hello&ad=false"
    sent = await _both(app, form_body, form, routed_body=form_body.replace(b"u-f", b"u-x"))
    assert _status(sent) == 202
    assert _status(await _both(app, _with(SEED_BODY), form)) == 415
    assert _status(await _both(app, _with(SEED_BODY), [_JSON[1]])) == 415


async def test_an_announced_oversize_body_is_413_kept_for_support(app: GatewayApp) -> None:
    body = _with(SEED_BODY, content="가" * 1000)
    sent = await _both(app, body, [*_JSON, (b"content-length", str(len(body)).encode())])
    assert _status(sent) == 413
    assert _json(sent)["detail"] == "The request body is larger than this gateway accepts."
    refusals = await app.state.store.search_refusals(MessageFilter(), limit=10)
    assert [refusal.http_status for refusal in refusals.items] == [413, 413]


async def test_a_streamed_oversize_body_without_a_length_is_413(app: GatewayApp) -> None:
    sent = await _both(app, [b"{" + b" " * 1500, b" " * 1500 + b"}"])
    assert _status(sent) == 413


async def test_a_body_in_chunks_within_the_limit_is_read_whole(app: GatewayApp) -> None:
    body = _with(SEED_BODY, userId="u-g")
    sent = await _both(app, [body[:100], b"", body[100:]], routed_body=_with(SEED_BODY, userId="u-w"))
    assert _status(sent) == 202
    assert (await app.state.store.get(_json(sent)["messageId"])).raw_body == body


async def test_a_bad_content_length_and_a_disconnect_are_answered_like_the_route(app: GatewayApp) -> None:
    sent = await _both(app, _with(SEED_BODY), [*_JSON, (b"content-length", b"many")])
    assert _status(sent) == 400
    cut_off = await _call(app, True, [], _JSON)
    assert (_status(cut_off), _json(cut_off)["title"]) == (500, "Internal error")
    assert cut_off == await _call(app, False, [], _JSON)


async def test_an_unexpected_error_is_a_logged_500_like_the_route(
    app: GatewayApp, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*_: object, **__: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(app.state.store, "add", broken)
    with caplog.at_level(logging.ERROR, logger="gateway.api.problems"):
        sent = await _both(app, _with(SEED_BODY, userId="u-h"))
    assert _status(sent) == 500
    assert _json(sent)["detail"] == "The gateway hit an unexpected error; nothing was stored."
    assert [record.message for record in caplog.records] == ["unhandled error", "unhandled error"]


async def test_other_methods_and_a_root_path_are_left_to_litestar(app: GatewayApp) -> None:
    assert _status(await _call(app, True, [b""], _JSON, method="GET")) == 405
    mounted = await _call(app, True, [_with(SEED_BODY, userId="u-i")], _JSON, root_path="/gw", path="/gw" + INGEST_PATH)
    assert _status(mounted) == 202


def test_the_app_has_no_middleware_or_hooks_the_fast_path_would_skip(app: GatewayApp) -> None:
    assert app.middleware == []
    assert (app.before_send, app.after_exception) == ([], [])
    assert not app.allowed_hosts
    assert (app.before_request, app.after_request, app.after_response, app.cors_config) == (None, None, None, None)
    with pytest.raises(KeyError):
        app.plugins.get("OpenTelemetryPlugin")  # its middleware would wrap Litestar's handler only
