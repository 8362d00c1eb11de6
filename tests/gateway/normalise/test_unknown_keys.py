from __future__ import annotations

from gateway.normalise.unknown_keys import IgnoredField, ignored_fields
from tests.conftest import SEED_BODY


def test_a_body_of_known_keys_ignores_nothing() -> None:
    assert ignored_fields({**SEED_BODY, "subject": "s", "fallbackSubject": "t", "idempotencyKey": "k"}) == []


def test_near_misses_name_the_key_they_resemble() -> None:
    body = {"button_name": "보기", "buttonlinkmobile": "https://a", "ButtonLinkPc": "https://b", "contnet": "x"}
    assert ignored_fields(body) == [
        IgnoredField("button_name", "buttonName"),
        IgnoredField("buttonlinkmobile", "buttonLinkMobile"),
        IgnoredField("ButtonLinkPc", "buttonLinkPC"),
        IgnoredField("contnet", "content"),
    ]


def test_unlike_keys_are_listed_without_a_suggestion() -> None:
    assert ignored_fields({"utmTerm": "x", "firstName": "y"}) == [IgnoredField("utmTerm"), IgnoredField("firstName")]
    assert str(IgnoredField("button_name", "buttonName")) == "button_name (did you mean buttonName?)"


def test_unknown_keys_of_button_entries_are_named_with_their_index() -> None:
    body = {"buttons": [{"name": "a", "linkMobile": "https://a"}, {"name": "b", "link_pc": "https://b"}, "x"]}
    assert ignored_fields(body) == [IgnoredField("buttons[1].link_pc", "buttons[1].linkPc")]


def test_a_long_key_is_shortened() -> None:
    (field,) = ignored_fields({"k" * 500: 1})
    assert len(field.field) == 64
