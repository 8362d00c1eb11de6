from __future__ import annotations

from typing import Any

import msgspec

from gateway.models import BrazeContext, Button, OutboundMessage
from gateway.normalise.idempotency import changed_fields, idempotency_key, is_explicit

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


def test_header_wins_over_the_body_key() -> None:
    header = idempotency_key(" key-1 ", {"idempotencyKey": "body-key"}, _message(braze=_BRAZE))
    assert header.startswith("h:")
    assert header == idempotency_key("key-1", {}, _message())
    assert header != idempotency_key("key-2", {}, _message())


def test_body_key_when_no_header() -> None:
    body = idempotency_key(None, {"idempotencyKey": "body-key"}, _message(braze=_BRAZE))
    assert body.startswith("b:")
    assert idempotency_key("  ", {"idempotencyKey": 12345}, _message()) == idempotency_key(
        None, {"idempotencyKey": "12345"}, _message()
    )


def test_an_explicit_key_is_scoped_to_the_user_and_the_channel() -> None:
    first = idempotency_key("same", {}, _message())
    assert first != idempotency_key("same", {}, _message(user_id="u2"))
    assert first != idempotency_key("same", {}, _message(channel="lms"))
    assert idempotency_key(None, {"idempotencyKey": "same"}, _message()) != idempotency_key(
        None, {"idempotencyKey": "same"}, _message(user_id="u2")
    )


def test_every_key_has_a_fixed_length_whatever_the_explicit_key() -> None:
    assert len(idempotency_key("k" * 5000, {}, _message())) == len(idempotency_key("k", {}, _message()))


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


def test_content_key_covers_user_recipient_content_and_links() -> None:
    base = idempotency_key(None, {}, _message())
    assert base.startswith("content:")
    assert base == idempotency_key(None, {}, _message())
    assert base != idempotency_key(None, {}, _message(user_id="u2"))
    assert base != idempotency_key(None, {}, _message(phone="01098765432"))
    assert base != idempotency_key(None, {}, _message(content="다른 본문"))
    assert base != idempotency_key(
        None, {}, _message(buttons=(Button("보기", "https://wadiz.kr/b", "https://wadiz.kr/b"),))
    )


def test_only_header_and_body_keys_are_explicit() -> None:
    assert is_explicit(idempotency_key("k", {}, _message()))
    assert is_explicit(idempotency_key(None, {"idempotencyKey": "k"}, _message()))
    assert not is_explicit(idempotency_key(None, {}, _message(braze=_BRAZE)))
    assert not is_explicit(idempotency_key(None, {}, _message()))


def test_changed_fields_are_named_by_their_body_keys() -> None:
    assert changed_fields(_message(), _message(notes=("a note",))) == []
    changed = _message(content="다른 본문", buttons=(), braze=_BRAZE)
    assert changed_fields(_message(), changed) == ["content", "buttons", "Braze ids"]
