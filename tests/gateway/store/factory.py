"""Builders of test messages for the store suite."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from typing import Any

from gateway.models import BrazeContext, Button, NewMessage, OutboundMessage, Status
from gateway.store import Store

__all__ = ("T0", "StoreFactory", "new_message")

#: The ``make_store`` fixture: opens another store on the test's database.
StoreFactory = Callable[[], Awaitable[Store]]

#: A fixed "now" so tests do not depend on the clock.
T0 = 1_760_000_000.0
_SEQUENCE = itertools.count()


def new_message(
    *,
    created_at: float = T0,
    status: Status = Status.QUEUED,
    next_attempt_at: float | None = None,
    key: str | None = None,
    vendor: str = "nhn",
    raw_body: bytes = b'{"channel": "kakao"}',
    **fields: Any,
) -> NewMessage:
    """Return a kakao message with a unique id and key; ``fields`` override the OutboundMessage's."""
    number = next(_SEQUENCE)
    message_fields: dict[str, Any] = {
        "channel": "kakao",
        "user_id": f"u-{number}",
        "content": "서포터님,\n헤어케어 카테고리에서 지금 가장 핫한 프로젝트는? ✨",
        "phone": "01012345678",
        "buttons": (Button("지금 확인하기", "https://www.wadiz.kr/web/campaign/detail/356850", "https://wadiz.kr/"),),
        "ad": True,
        "fallback": "lms",
        "braze": BrazeContext(campaign_id="c1a2b3", dispatch_id="d-7f3e"),
    }
    message_fields.update(fields)
    return NewMessage(
        id=f"{int(created_at * 1000):012x}{number:016x}",
        idempotency_key=key or f"key-{number}",
        vendor=vendor,
        message=OutboundMessage(**message_fields),
        raw_body=raw_body,
        status=status,
        next_attempt_at=created_at if next_attempt_at is None else next_attempt_at,
        created_at=created_at,
    )
