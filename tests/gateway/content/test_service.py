"""The cache service alone: the deadline on waiting for a shared upstream call, and closing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest

from gateway.content.service import ContentService
from gateway.content.upstream import UpstreamError
from tests.conftest import Clock
from tests.content_upstream import FakeUpstream, Reply, fake_upstream


@pytest.fixture
def upstream() -> Iterator[FakeUpstream]:
    with fake_upstream() as server:
        yield server


def service(upstream: FakeUpstream, clock: Clock, *, timeout: float, deadline: float) -> ContentService:
    return ContentService(
        {"best": f"{upstream.url}/best"},
        httpx.AsyncClient(timeout=httpx.Timeout(timeout)),
        ttl=60,
        timeout=timeout,
        max_bytes=10_000,
        list_path=None,
        cache_bytes=100_000,
        clock=clock,
        deadline=deadline,
    )


async def test_waiters_give_up_at_the_deadline_and_the_shared_call_still_fills_the_cache(
    upstream: FakeUpstream, clock: Clock
) -> None:
    content = service(upstream, clock, timeout=1.5, deadline=0.2)
    upstream.reply = Reply(delay=0.5)
    started = time.monotonic()
    outcomes = await asyncio.gather(
        *(content.answer("best", [("category", "hair")]) for _ in range(5)), return_exceptions=True
    )
    assert time.monotonic() - started < 0.45
    assert all(isinstance(outcome, UpstreamError) and outcome.reason == "deadline" for outcome in outcomes)
    await asyncio.sleep(0.5)
    answer = await content.answer("best", [("category", "hair")])
    assert answer.cache == "HIT"
    assert upstream.calls == ["category=hair"]
    await content.aclose()


async def test_closing_cancels_the_calls_in_flight(upstream: FakeUpstream, clock: Clock) -> None:
    content = service(upstream, clock, timeout=1.5, deadline=0.1)
    upstream.reply = Reply(delay=1.0)
    with pytest.raises(UpstreamError):
        await content.answer("best", [])
    started = time.monotonic()
    await content.aclose()
    assert time.monotonic() - started < 0.5
    assert len(content.cache) == 0
