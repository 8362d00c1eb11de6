from __future__ import annotations

import msgspec

from gateway.normalise.errors import FieldError, InvalidMessage


def test_field_error_text_and_json() -> None:
    error = FieldError("buttons[1].linkMobile", "the link is empty")
    assert str(error) == "buttons[1].linkMobile: the link is empty"
    assert msgspec.json.decode(msgspec.json.encode(error)) == {
        "field": "buttons[1].linkMobile",
        "message": "the link is empty",
    }


def test_invalid_message_keeps_order_and_drops_duplicates() -> None:
    first, second = FieldError("phone", "missing"), FieldError("content", "missing")
    invalid = InvalidMessage([first, second, first])
    assert invalid.errors == [first, second]
    assert str(invalid) == "phone: missing; content: missing"
