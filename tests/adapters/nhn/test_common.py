from __future__ import annotations

import pytest

from adapters.base import header_value, parse_korean_time
from adapters.nhn.common import nhn_headers, verify_callback


def test_headers_carry_the_secret_and_the_idempotency_key_when_given() -> None:
    assert nhn_headers("s3cret", "gw-1") == {
        "Content-Type": "application/json;charset=UTF-8",
        "X-Secret-Key": "s3cret",
        "X-NC-API-IDEMPOTENCY-KEY": "gw-1",
    }
    assert "X-NC-API-IDEMPOTENCY-KEY" not in nhn_headers("s3cret")


def test_header_lookup_ignores_case() -> None:
    assert header_value({"retry-after": "3"}, "Retry-After") == "3"
    assert header_value({"Retry-After": "4"}, "Retry-After") == "4"
    assert header_value({}, "Retry-After") is None


@pytest.mark.parametrize(
    ("headers", "expected", "valid"),
    [
        ({"X-Toast-Webhook-Signature": "static-value"}, "static-value", True),
        ({"x-toast-webhook-signature": "static-value"}, "static-value", True),
        ({"X-Toast-Webhook-Signature": "static-valuE"}, "static-value", False),
        ({"X-Toast-Webhook-Signature": "static"}, "static-value", False),
        ({}, "static-value", False),
        ({"X-Toast-Webhook-Signature": ""}, "", False),
        # Nothing configured: no callback can authenticate.
        ({"X-Toast-Webhook-Signature": "static-value"}, None, False),
        ({"X-Toast-Webhook-Signature": "서명"}, "서명", True),
    ],
)
def test_webhook_signature_is_the_configured_static_value(
    headers: dict[str, str], expected: str | None, valid: bool
) -> None:
    assert verify_callback(headers, expected) is valid


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-04-29T20:58:04", 1714391884.0),
        ("2024-04-29 20:58:04", 1714391884.0),
        ("2023-09-14 10:15:05.0", 1694654105.0),
        ("2020-09-09T11:25:10.000+09:00", 1599618310.0),
        ("2020-09-09T02:25:10Z", 1599618310.0),
        (None, None),
        ("", None),
        ("yesterday", None),
    ],
)
def test_nhn_times_are_korean_unless_they_say_otherwise(value: str | None, expected: float | None) -> None:
    assert parse_korean_time(value) == expected
