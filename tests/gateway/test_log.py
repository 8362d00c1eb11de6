from __future__ import annotations

import logging

import msgspec

from gateway.log import JsonFormatter


def test_json_line_keeps_only_allow_listed_fields() -> None:
    record = logging.LogRecord("gateway.x", logging.INFO, __file__, 1, "message queued", None, None)
    record.message_id = "abc"
    record.phone = "01012345678"
    line = JsonFormatter().format(record)
    entry = msgspec.json.decode(line)
    assert entry["event"] == "message queued"
    assert entry["message_id"] == "abc"
    assert "01012345678" not in line
