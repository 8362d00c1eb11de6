"""Structured JSON logs.

Log lines carry message ids, never phone numbers, emails or tokens: callers pass only ids and codes in
``extra``, and :class:`JsonFormatter` keeps only the allow-listed ``extra`` keys.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import TextIO

import msgspec

__all__ = ("JsonFormatter", "configure_logging")

#: ``extra`` keys that may appear in a log line; anything else passed as ``extra`` is dropped.
_ALLOWED_EXTRA = frozenset(
    {
        "message_id",
        "channel",
        "vendor",
        "status",
        "outcome",
        "code",
        "http_status",
        "attempt",
        "duration_ms",
        "count",
        # Event logs (gateway.events): ids, names of body keys and staff names, never values.
        "refusal_id",
        "first_message_id",
        "parent_id",
        "child_id",
        "fields",
        "key_kind",
        "receipt_state",
        "staff",
        "role",
    }
)
_ENCODER = msgspec.json.Encoder()


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, event text and allow-listed fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        entry.update({k: v for k, v in record.__dict__.items() if k in _ALLOWED_EXTRA})
        if record.exc_info and record.exc_info[0] is not None:
            entry["error"] = record.exc_info[0].__name__
        return _ENCODER.encode(entry).decode()


def configure_logging(level: str = "INFO", stream: TextIO | None = None) -> None:
    """Send every logger's records to ``stream`` (default stderr) as JSON lines."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # uvicorn's access log prints raw paths and query strings, which can hold phone numbers and tokens; httpx's
    # request log prints vendor URLs, which hold app keys.
    logging.getLogger("uvicorn.access").disabled = True
    logging.getLogger("httpx").setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
