from __future__ import annotations

import msgspec
import pytest

from adapters.base import VendorResponse, header_value, parse_korean_time
from adapters.contract import Accepted, Permanent, Uncertain
from adapters.nhn.common import (
    CodeRules,
    NhnResult,
    Recipient,
    RecipientResult,
    ResultHeader,
    classify_results,
    nhn_headers,
    request_idempotency_key,
    verify_callback,
)


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


def test_a_requests_idempotency_key_is_its_one_send_key_or_a_hash_of_them_in_order() -> None:
    assert request_idempotency_key(["key-1"]) == "key-1"
    both = request_idempotency_key(["key-1", "key-2"])
    assert both == request_idempotency_key(["key-1", "key-2"])
    assert both != request_idempotency_key(["key-2", "key-1"])
    assert both != request_idempotency_key(["key-1", "key-2", "key-3"])
    assert len(both) == 32


RULES = CodeRules(retryable=frozenset({-9999}))
TWO = [Recipient("gw-1", "01011110001"), Recipient("gw-2", "010-1111-0002")]


def answer(*results: RecipientResult) -> VendorResponse:
    return VendorResponse(200, {}, msgspec.json.encode(list(results)))


def parse(raw: bytes) -> NhnResult:
    results = tuple(msgspec.json.decode(raw, type=list[RecipientResult]))
    return NhnResult(ResultHeader(0, "SUCCESS", is_successful=True), "r-1", results)


def test_results_are_found_by_grouping_key_before_their_place() -> None:
    outcomes = classify_results(
        answer(
            RecipientResult(-1, "bad", seq=1, grouping_key="gw-2"), RecipientResult(0, "ok", seq=2, grouping_key="gw-1")
        ),
        parse,
        RULES,
        TWO,
    )

    assert outcomes == [Accepted("r-1", "0", "SUCCESS"), Permanent("-1", "bad")]


def test_a_result_by_place_counts_only_when_its_number_is_the_recipients() -> None:
    placed = answer(
        RecipientResult(0, "ok", seq=1, number="01011110001"), RecipientResult(-1, "bad", seq=2, number="01011110002")
    )
    wrong = answer(
        RecipientResult(0, "ok", seq=1, number="01011110001"), RecipientResult(0, "ok", seq=2, number="01099999999")
    )

    assert classify_results(placed, parse, RULES, TWO) == [Accepted("r-1", "0", "SUCCESS"), Permanent("-1", "bad")]
    assert [type(o) for o in classify_results(wrong, parse, RULES, TWO)] == [Accepted, Uncertain]


def test_two_results_for_one_recipient_leave_it_uncertain() -> None:
    twice = answer(
        RecipientResult(0, "ok", seq=1),
        RecipientResult(-1, "bad", grouping_key="gw-1"),
        RecipientResult(0, "ok", seq=2),
    )

    assert [type(o) for o in classify_results(twice, parse, RULES, TWO)] == [Uncertain, Accepted]
