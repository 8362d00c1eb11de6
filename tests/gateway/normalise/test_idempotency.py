from __future__ import annotations

import hashlib
from typing import Any

import msgspec

from gateway.models import BrazeContext, Button, OutboundMessage
from gateway.normalise.idempotency import idempotency_key

_BASE = OutboundMessage(
    channel="kakao",
    user_id="u1",
    phone="01012345678",
    content="본문",
    buttons=(Button("보기", "https://wadiz.kr/a", "https://wadiz.kr/a"),),
    ad=True,
)


def _message(**changes: Any) -> OutboundMessage:
    return msgspec.structs.replace(_BASE, **changes)


_BRAZE = BrazeContext(campaign_id="c1", dispatch_id="d1")


def test_header_wins() -> None:
    assert idempotency_key(" key-1 ", {"idempotencyKey": "body-key"}, _message(braze=_BRAZE)) == "h:key-1"


def test_body_key_when_no_header() -> None:
    assert idempotency_key(None, {"idempotencyKey": "body-key"}, _message(braze=_BRAZE)) == "b:body-key"
    assert idempotency_key("  ", {"idempotencyKey": 12345}, _message()) == "b:12345"


def test_long_explicit_keys_are_hashed() -> None:
    long_key = "k" * 201
    digest = hashlib.sha256(long_key.encode()).hexdigest()
    assert idempotency_key(long_key, {}, _message()) == f"h#:{digest}"
    assert idempotency_key(None, {"idempotencyKey": long_key}, _message()) == f"b#:{digest}"
    assert idempotency_key("k" * 200, {}, _message()) == "h:" + "k" * 200


def test_braze_ids_key_includes_the_user() -> None:
    first = idempotency_key(None, {}, _message(braze=_BRAZE))
    assert first.startswith("braze:")
    assert first == idempotency_key(None, {"idempotencyKey": ""}, _message(braze=_BRAZE, content="다른 본문"))
    assert first != idempotency_key(None, {}, _message(braze=_BRAZE, user_id="u2"))
    assert first != idempotency_key(None, {}, _message(braze=BrazeContext(campaign_id="c1", dispatch_id="d2")))
    assert first != idempotency_key(None, {}, _message(braze=_BRAZE, channel="lms"))


def test_campaign_name_alone_is_not_a_braze_id() -> None:
    key = idempotency_key(None, {}, _message(braze=BrazeContext(campaign_name="summer")))
    assert key.startswith("content:")


def test_content_key_covers_recipient_content_and_links() -> None:
    base = idempotency_key(None, {}, _message())
    assert base.startswith("content:")
    assert base == idempotency_key(None, {}, _message())
    assert base != idempotency_key(None, {}, _message(phone="01098765432"))
    assert base != idempotency_key(None, {}, _message(content="다른 본문"))
    assert base != idempotency_key(
        None, {}, _message(buttons=(Button("보기", "https://wadiz.kr/b", "https://wadiz.kr/b"),))
    )


def test_kinds_cannot_collide() -> None:
    content_key = idempotency_key(None, {}, _message())
    assert idempotency_key(content_key, {}, _message()) == f"h:{content_key}"
