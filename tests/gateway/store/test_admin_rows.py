"""Erasure helpers, the audit cursor and the SQLite plans of the support console's statements."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from gateway.models import BrazeContext, Button, OutboundMessage, Status
from gateway.store import rows_admin as rows
from gateway.store.sqlite import connect_sqlite, migrate_sqlite_file


@pytest.fixture
def migrated(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    path = str(tmp_path / "plans.db")
    migrate_sqlite_file(path)
    conn = connect_sqlite(path)
    yield conn
    conn.close()


def _plan(conn: sqlite3.Connection, statement: str, params: tuple[object, ...]) -> str:
    return " | ".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {rows.sql(statement, '?')}", params))


def test_erased_message_keeps_what_statistics_need_and_nothing_personal() -> None:
    message = OutboundMessage(
        channel="email",
        user_id="u-1",
        content="<p>안녕하세요 제인님</p>",
        email="jane@example.com",
        subject="제인님께",
        text="안녕하세요 제인님",
        buttons=(Button("보기", "https://example.com/?u=1", "https://example.com/?u=1"),),
        image_url="https://example.com/jane.png",
        braze=BrazeContext(campaign_id="c1"),
        notes=("removed 1 emoji",),
    )

    erased = msgspec.json.decode(rows.erased_message(msgspec.json.encode(message)), type=OutboundMessage)

    assert erased == OutboundMessage(
        channel="email",
        user_id="u-1",
        content=rows.ERASED,
        subject=rows.ERASED,
        text=rows.ERASED,
        braze=BrazeContext(campaign_id="c1"),
        notes=("removed 1 emoji",),
    )


def test_erased_message_leaves_absent_fields_absent() -> None:
    message = OutboundMessage(channel="kakao", user_id="u-1", content="안녕", phone="01012345678")

    erased = msgspec.json.decode(rows.erased_message(msgspec.json.encode(message)), type=OutboundMessage)

    assert (erased.subject, erased.text, erased.phone) == (None, None, None)


def test_erased_request_keeps_method_url_and_headers() -> None:
    request = {"method": "POST", "url": "https://v/send", "headers": {"X": "1"}, "body": {"to": "01012345678"}}

    erased = msgspec.json.decode(rows.erased_request(msgspec.json.encode(request)) or "")

    assert erased == {"method": "POST", "url": "https://v/send", "headers": {"X": "1"}, "body": rows.ERASED}
    assert rows.erased_request(None) is None


@pytest.mark.parametrize(
    ("status", "after"),
    [
        (Status.QUEUED, Status.SUPPRESSED),
        (Status.RETRYING, Status.SUPPRESSED),
        (Status.HELD, Status.SUPPRESSED),
        (Status.SENDING, Status.SUPPRESSED),
        (Status.ACCEPTED, Status.ACCEPTED),
        (Status.DEAD, Status.DEAD),
        (Status.DELIVERED, Status.DELIVERED),
    ],
)
def test_only_a_message_waiting_to_be_sent_changes_status_on_erasure(status: Status, after: Status) -> None:
    assert rows.erased_status(status.value) == after.value


def test_the_audit_cursor_is_an_id() -> None:
    assert rows.decode_audit_cursor("42") == 42
    assert rows.decode_audit_cursor(None) > 2**60
    with pytest.raises(ValueError, match="invalid cursor"):
        rows.decode_audit_cursor("-1")


def test_window_counts_read_only_the_covering_index(migrated: sqlite3.Connection) -> None:
    plan = _plan(migrated, rows.WINDOW_COUNTS, (0.0, 1.0))

    assert plan.startswith("SEARCH messages USING COVERING INDEX messages_window (created_at>? AND created_at<?)")


def test_failures_read_only_failed_attempts_and_failure_receipts_of_the_window(migrated: sqlite3.Connection) -> None:
    plan = _plan(migrated, rows.FAILURES, (0.0, 1.0, 0.0, 1.0, 10)).split(" | ")

    assert "SEARCH a USING INDEX attempts_failed (started_at>? AND started_at<?)" in plan
    assert "SEARCH r USING INDEX receipts_failed (received_at>? AND received_at<?)" in plan
    # Only the grouped rows of the two index ranges are scanned, never a table.
    assert [step for step in plan if step.startswith("SCAN")] == ["SCAN failures"]


def test_purge_finds_the_oldest_through_the_creation_index(migrated: sqlite3.Connection) -> None:
    plan = _plan(migrated, rows.PURGE, (0.0, 500))

    assert "SEARCH messages USING COVERING INDEX messages_created (created_at<?)" in plan
    assert "SCAN" not in plan
