"""What the dispatcher writes about one attempt: its record, its outcome's name, the reasons it says.

Pure helpers shared by the dispatcher's parts (see :mod:`gateway.dispatch.dispatcher`).
"""

from __future__ import annotations

import traceback
from datetime import UTC, datetime
from typing import NamedTuple

from adapters.base import SendResult
from adapters.contract import Accepted, Outcome, Permanent, Retryable, Uncertain
from gateway.models import Attempt, AttemptOutcome, Status, StoredMessage

__all__ = (
    "OUTCOME_NAMES",
    "SENDING",
    "Ended",
    "Tried",
    "attempt_record",
    "error_name",
    "fallback_reason",
    "outcome_name",
    "send_key",
    "utc",
)

#: The status a claimed message is in: every move out of a claim expects it.
SENDING = frozenset({Status.SENDING})

OUTCOME_NAMES: dict[type, AttemptOutcome] = {
    Accepted: "accepted",
    Retryable: "retryable",
    Permanent: "permanent",
    Uncertain: "uncertain",
}


class Ended(NamedTuple):
    """The claim an attempt ended: the message, the attempt, the request as sent (none for an internal error), when."""

    message_id: str
    attempt: Attempt
    request: dict[str, object] | None
    now: float


class Tried(NamedTuple):
    """One attempt: the send result, its log entry and the request as stored (secrets redacted)."""

    send: SendResult
    attempt: Attempt
    request: dict[str, object]

    @property
    def outcome(self) -> Outcome:
        return self.send.outcome


def attempt_record(number: int, started: float, result: SendResult) -> Attempt:
    """The timeline's attempt ``number``, begun at ``started``, for the vendor's ``result``."""
    outcome = result.outcome
    return Attempt(
        number=number,
        started_at=started,
        duration_ms=result.duration_ms,
        outcome=outcome_name(result),
        http_status=result.http_status,
        vendor_code=outcome.code,
        detail=outcome.detail or ("accepted" if isinstance(outcome, Accepted) else ""),
    )


def outcome_name(result: SendResult) -> AttemptOutcome:
    return OUTCOME_NAMES[type(result.outcome)]


def send_key(record: StoredMessage) -> str:
    """The vendor idempotency key: stable across the retries of one send, new after a staff replay."""
    return record.id if record.replayed_at is None else f"{record.id}-r{int(record.replayed_at * 1000)}"


def fallback_reason(reason: str, child_id: str) -> str:
    return f"{reason}; sent on as LMS {child_id}"


def utc(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def error_name(exc: Exception) -> str:
    """The exception's type and where it was raised (file, line, function): no message, which may hold data."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return type(exc).__name__
    frame = frames[-1]
    where = "/".join(frame.filename.replace("\\", "/").split("/")[-2:])
    return f"{type(exc).__name__} at {where}:{frame.lineno} in {frame.name}"
