"""The periodic runner: full batches run again at once, others wait the interval, errors do not stop it."""

from __future__ import annotations

import asyncio
import logging

import pytest

from gateway.dispatch.periodic import run_periodically


class _Duty:
    name = "test duty"
    interval = 7.0
    batch_size = 10

    def __init__(self, *results: int | Exception) -> None:
        self.results = list(results)
        self.runs = 0

    async def run_once(self) -> int:
        self.runs += 1
        result = self.results.pop(0)
        if isinstance(result, Exception):
            raise result
        return result


class _Sleeps:
    """Records each wait; stops the runner once the duty has nothing left to return."""

    def __init__(self, duty: _Duty) -> None:
        self.duty = duty
        self.waits: list[tuple[int, float]] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append((self.duty.runs, seconds))
        if not self.duty.results:
            raise asyncio.CancelledError


async def test_full_batches_run_again_at_once_and_a_short_one_waits_the_interval() -> None:
    duty = _Duty(10, 10, 3, 0)
    sleeps = _Sleeps(duty)

    with pytest.raises(asyncio.CancelledError):
        await run_periodically(duty, sleep=sleeps)

    assert sleeps.waits == [(3, 7.0), (4, 7.0)]


async def test_an_error_is_logged_and_the_duty_runs_again_after_its_interval(caplog: pytest.LogCaptureFixture) -> None:
    duty = _Duty(RuntimeError("store down"), 10, 0)
    sleeps = _Sleeps(duty)

    with caplog.at_level(logging.ERROR), pytest.raises(asyncio.CancelledError):
        await run_periodically(duty, sleep=sleeps)

    assert sleeps.waits == [(1, 7.0), (3, 7.0)]
    assert "test duty failed" in caplog.text
