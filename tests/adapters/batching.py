"""Helpers the vendor adapters' batch tests share."""

from __future__ import annotations

import time
from collections.abc import Sequence

import httpx

from adapters.batch import BatchItem
from adapters.contract import LookupResult, OutboundMessage, Outcome
from adapters.spec import Lookup, LookupTarget

__all__ = ("assert_same_for_all", "items", "look_up_each")


def items(*messages: OutboundMessage) -> list[BatchItem]:
    """A batch of ``messages`` with ids ``gw-1``, ``gw-2``, ... and send keys ``key-1``, ``key-2``, ..."""
    return [BatchItem(message=m, message_id=f"gw-{i}", send_key=f"key-{i}") for i, m in enumerate(messages, 1)]


async def look_up_each(lookup: Lookup, client: httpx.AsyncClient, batch: Sequence[BatchItem]) -> list[LookupResult]:
    """Look every message of ``batch`` up as the dispatcher would after an uncertain send just now."""
    now = time.time()
    return [
        await lookup(client, LookupTarget(message_id=i.message_id, phone=i.message.phone, sent_at=now, now=now))
        for i in batch
    ]


def assert_same_for_all(outcomes: Sequence[Outcome], count: int, kind: type) -> None:
    """A failure of the whole request: ``count`` equal outcomes of ``kind``."""
    assert len(outcomes) == count
    assert len(set(outcomes)) == 1
    assert isinstance(outcomes[0], kind)
