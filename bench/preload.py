"""Queues messages straight into a gateway store, through the store's own ``add`` (no HTTP), as fast as it goes.

Each message is what ingest would have stored for a Braze body of its own user: normalised once, then given the
user's id, dispatch id, raw body and idempotency key. Adds run ``concurrency`` at a time, so the store's group
commit writes them in large transactions.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import msgspec
from bodies import BodyKind, braze_body

from gateway.models import NewMessage, OutboundMessage, Status, new_message_id
from gateway.normalise.inbound import idempotency_key, normalise_body, policy_from_settings
from gateway.settings import load_settings
from gateway.store import open_store

__all__ = ("preload", "user_prefix")

_ENCODER = msgspec.json.Encoder()
_WINDOW = 24 * 3600.0


def user_prefix(nonce: str) -> str:
    """The ``userId`` prefix of one run's messages (what a count of that run's messages matches)."""
    return f"bench-{nonce}-"


def _messages(kind: BodyKind, count: int, nonce: str) -> Iterator[NewMessage]:
    settings = load_settings({})
    template = normalise_body(braze_body(kind, "template"), policy_from_settings(settings))
    vendor = settings.vendor_for(template.channel)
    now = time.time()
    for index in range(count):
        user = f"{user_prefix(nonce)}{index}"
        body = braze_body(kind, user)
        braze = msgspec.structs.replace(template.braze, dispatch_id=body["dispatchId"])
        # Each user has their own number, as in a campaign: a batch request names a recipient once
        # (docs/ARCHITECTURE.md, "Batches"), so one number for all would send every message alone.
        phone = None if template.phone is None else f"010{index:08d}"
        message: OutboundMessage = msgspec.structs.replace(template, user_id=user, braze=braze, phone=phone)
        yield NewMessage(
            id=new_message_id(),
            idempotency_key=idempotency_key(None, body, message),
            vendor=vendor,
            message=message,
            raw_body=_ENCODER.encode(body),
            status=Status.QUEUED,
            next_attempt_at=now,
            created_at=now,
        )


async def preload(database_url: str, kind: BodyKind, count: int, nonce: str, *, concurrency: int = 2000) -> float:
    """Store ``count`` queued messages of ``kind`` (users ``bench-<nonce>-<n>``); return the seconds it took.

    Raises:
        RuntimeError: A message was a duplicate (a run's nonce was reused), so fewer than ``count`` were queued.
    """
    store = open_store(database_url)
    await store.open()
    started = time.perf_counter()
    try:
        messages = _messages(kind, count, nonce)
        for start in range(0, count, concurrency):
            chunk = [next(messages) for _ in range(min(concurrency, count - start))]
            results = await asyncio.gather(*(store.add(new, idempotency_window=_WINDOW) for new in chunk))
            if any(result.duplicate for result in results):
                raise RuntimeError(f"duplicates while preloading: is nonce {nonce!r} reused?")
    finally:
        await store.close()
    return time.perf_counter() - started
