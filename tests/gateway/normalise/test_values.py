from __future__ import annotations

import pytest

from gateway.normalise.errors import FieldError
from gateway.normalise.values import ValueReader, invisible_only


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("  ", None),
        (" 값 ", "값"),
        (42, "42"),
        (1.5, "1.5"),
        (True, "true"),
        (False, "false"),
    ],
)
def test_text(value: object, expected: str | None) -> None:
    reader = ValueReader()
    assert reader.text("key", value) == expected
    assert reader.errors == []


def test_text_rejects_lists_and_objects() -> None:
    reader = ValueReader()
    assert reader.text("a", ["x"]) is None
    assert reader.text("b", {"x": 1}) is None
    assert reader.errors == [
        FieldError("a", "must be text, not a list"),
        FieldError("b", "must be text, not an object"),
    ]


def test_required() -> None:
    reader = ValueReader()
    assert reader.required("a", " x ", "give one") == "x"
    assert reader.required("b", "", "give one") is None
    assert reader.required("c", ["x"], "give one") is None
    assert reader.errors == [FieldError("b", "missing; give one"), FieldError("c", "must be text, not a list")]


@pytest.mark.parametrize(
    "value", ["\x00", "\x07", "\x00\x01", "\x7f", "\u200b", "\u202e", "\ufeff \u2060", "\ufffd\ufffd"]
)
def test_required_of_control_or_format_characters_only_is_missing(value: str) -> None:
    reader = ValueReader()
    assert reader.required("phone", value, "give one") is None
    assert reader.errors == [FieldError("phone", "only invisible characters (control or format characters); give one")]


def test_limits_are_checked_after_cleaning() -> None:
    reader = ValueReader()
    assert reader.text("userId", "u" * 5 + "\x00" * 10, limit=5) == "uuuuu"
    assert reader.required("userId", "u" * 6, "give one", limit=5) is None
    assert reader.errors == [FieldError("userId", "6 characters; at most 5 are allowed")]


def test_control_characters_are_kept_when_asked() -> None:
    assert ValueReader().text("link", " a\x00b ", controls=True) == "a\x00b"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("", True), (" \n", True), ("\x00\u202e\ufffd", True), ("a", False), ("\u200b값", False), ("\u202ex", False)],
)
def test_invisible_only(text: str, expected: bool) -> None:
    assert invisible_only(text) is expected


@pytest.mark.parametrize("value", ["true", "TRUE", "y", "Yes", "1", True, 1])
def test_flag_true(value: object) -> None:
    assert ValueReader().flag("ad", value) is True


@pytest.mark.parametrize("value", ["false", "N", "no", "0", False, 0])
def test_flag_false(value: object) -> None:
    assert ValueReader().flag("ad", value) is False


def test_flag_missing_and_invalid() -> None:
    reader = ValueReader()
    assert reader.flag("ad", "") is None
    assert reader.flag("ad", None) is None
    assert reader.flag("ad", "perhaps not at all, thanks") is None
    assert reader.flag("ad", 2) is None
    assert reader.errors == [
        FieldError("ad", '"perhaps not at all,…" is not a yes/no value; use true or false'),
        FieldError("ad", '"2" is not a yes/no value; use true or false'),
    ]


def test_choice() -> None:
    reader = ValueReader()
    assert reader.choice("channel", " KAKAO ", ("kakao", "lms", "email")) == "kakao"
    assert reader.choice("channel", "sms", ("kakao", "lms", "email")) is None
    assert reader.errors == [FieldError("channel", '"sms" is not allowed; use kakao, lms or email')]


def test_rendered() -> None:
    reader = ValueReader()
    assert reader.rendered("content", "안녕하세요")
    assert not reader.rendered("content", "{{first_name}}님")
    assert reader.errors == [
        FieldError(
            "content", 'contains Liquid that was not rendered: "{{first_name}}" (check the template and its defaults)'
        )
    ]


def test_text_drops_control_characters_but_keeps_line_breaks_and_tabs() -> None:
    assert ValueReader().text("content", "안녕\x00하세요\x07\n\t다음 줄\x1b") == "안녕하세요\n\t다음 줄"
    assert ValueReader().text("userId", "\x00") is None
