from __future__ import annotations

import pytest

from gateway.store import MessageFilter
from gateway.store.search import decode_cursor, encode_cursor, search_query


def test_a_cursor_round_trips_exactly() -> None:
    created_at = 1_760_000_000.123456

    assert decode_cursor(encode_cursor(created_at, "0199abc")) == (created_at, "0199abc")


@pytest.mark.parametrize("cursor", ["", "!!!", encode_cursor(1.0, "x")[:-3], "WyJhIiwxXQ"])
def test_a_foreign_cursor_is_a_value_error(cursor: str) -> None:
    with pytest.raises(ValueError, match="invalid cursor"):
        decode_cursor(cursor)


def test_the_query_asks_one_row_more_than_the_page() -> None:
    _, params = search_query(MessageFilter(user_id="u"), limit=20, cursor=None, columns="id", placeholder="%s")

    assert params == ["u", 21]


def test_only_the_most_selective_filter_keeps_its_index_on_sqlite() -> None:
    criteria = MessageFilter(status="dead", user_id="u", channel="lms")  # type: ignore[arg-type]

    sqlite_sql, params = search_query(criteria, limit=5, cursor=None, columns="id", placeholder="?", sqlite=True)
    postgres_sql, _ = search_query(criteria, limit=5, cursor=None, columns="id", placeholder="%s")

    assert "WHERE user_id = ? AND +status = ? AND +channel = ?" in sqlite_sql
    assert "WHERE user_id = %s AND status = %s AND channel = %s" in postgres_sql
    assert params == ["u", "dead", "lms", 6]


def test_a_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="limit"):
        search_query(MessageFilter(), limit=0, cursor=None, columns="id", placeholder="?")
