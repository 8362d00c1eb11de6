"""Search parameters to criteria: normalised contact details, times with and without offsets, every error named."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

import pytest

from gateway.api.filters import KST, InvalidFilter, describe_filter, parse_search, parse_time, parse_window
from gateway.models import Status
from gateway.store.base import MessageFilter

NOON_KST = datetime(2026, 11, 27, 12, 0, tzinfo=KST).timestamp()


def test_contact_details_are_normalised_the_way_ingest_stores_them() -> None:
    search = parse_search({"phone": "+82 10-1234-5678", "email": " Jane@EXAMPLE.com ", "status": "Dead"})

    assert search.criteria == MessageFilter(phone="01012345678", email="Jane@example.com", status=Status.DEAD)


def test_empty_values_mean_any_and_the_page_has_defaults() -> None:
    search = parse_search({"userId": "", "channel": " ", "cursor": ""})

    assert (search.criteria, search.limit, search.cursor) == (MessageFilter(), 50, None)


@pytest.mark.parametrize(
    ("raw", "naive_tz", "expected"),
    [
        ("2026-11-27T12:00:00+09:00", UTC, NOON_KST),
        ("2026-11-27T03:00:00Z", KST, NOON_KST),
        ("2026-11-27T03:00", UTC, NOON_KST),
        ("2026-11-27T12:00", KST, NOON_KST),
        ("2026-11-27", KST, NOON_KST - 12 * 3600),
    ],
)
def test_times_are_iso_8601_and_naive_ones_take_the_given_zone(raw: str, naive_tz: tzinfo, expected: float) -> None:
    assert parse_time(raw, naive_tz) == expected


def test_every_bad_parameter_is_named_once() -> None:
    with pytest.raises(InvalidFilter) as info:
        parse_search({"vendor": "kakao", "to": "noon", "limit": "many", "userId": "u-1"})

    assert [(e.field, e.message) for e in info.value.errors] == [
        ("vendor", "is not a vendor; use one of ncp, nhn, sendgrid, solapi"),
        ("to", "is not an ISO 8601 time such as 2026-11-27T12:00:00+09:00"),
        ("limit", "must be a whole number from 1 to 200"),
    ]


def test_a_bad_phone_number_is_not_repeated_in_the_error() -> None:
    with pytest.raises(InvalidFilter) as info:
        parse_search({"phone": "010-0000"})

    assert "010-0000" not in str(info.value)


def test_the_stats_window_defaults_to_the_day_before_now() -> None:
    assert parse_window({}, now=NOON_KST, default=86400) == (NOON_KST - 86400, NOON_KST)
    assert parse_window({"from": "2026-11-27T11:00:00+09:00"}, now=NOON_KST, default=86400) == (
        NOON_KST - 3600,
        NOON_KST,
    )
    with pytest.raises(InvalidFilter, match="to: must be later than from"):
        parse_window({"to": "2026-11-27T11:00:00+09:00", "from": "2026-11-27T12:00:00+09:00"}, now=0, default=1)


def test_a_filter_is_described_for_the_audit_log_without_contact_details() -> None:
    criteria = MessageFilter(status=Status.DEAD, phone="01012345678", email="jane@example.com", created_from=NOON_KST)

    assert describe_filter(criteria) == (
        "status=dead phone=010-****-5678 email=j***@example.com from=2026-11-27T03:00:00Z"
    )
    assert describe_filter(MessageFilter()) == "(no filter)"
