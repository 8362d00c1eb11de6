"""In-process retries around one vendor call, and the delay before a rescheduled attempt."""

from __future__ import annotations

import random
from collections.abc import Awaitable
from dataclasses import dataclass

import tenacity

from adapters.contract import Accepted, Outcome, Permanent, Retryable
from gateway.dispatch.retry import IN_PROCESS_ATTEMPTS, SHORT_WAIT_LIMIT, call_with_retries, rescheduled_delay


@dataclass(frozen=True)
class _Result:
    outcome: Outcome
    number: int


class _Vendor:
    """Answers with ``outcomes`` in order and records what the retry loop did around them."""

    def __init__(self, *outcomes: Outcome) -> None:
        self._outcomes = list(outcomes)
        self.calls = 0
        self.sleeps: list[float] = []
        self.retried_after: list[int] = []

    async def call(self) -> _Result:
        self.calls += 1
        return _Result(self._outcomes.pop(0), self.calls)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    async def before_sleep(self, state: tenacity.RetryCallState) -> None:
        assert state.outcome is not None
        self.retried_after.append(state.outcome.result().number)

    def run(self) -> Awaitable[_Result]:
        return call_with_retries(self.call, sleep=self.sleep, before_sleep=self.before_sleep)


_BUSY = Retryable("503", "busy")


async def test_a_first_success_is_one_call_without_waiting() -> None:
    vendor = _Vendor(Accepted("v-1"))

    result = await vendor.run()

    assert (result.number, vendor.calls, vendor.sleeps, vendor.retried_after) == (1, 1, [], [])


async def test_a_permanent_first_answer_is_not_retried() -> None:
    vendor = _Vendor(Permanent("400", "bad"))

    result = await vendor.run()

    assert isinstance(result.outcome, Permanent)
    assert vendor.calls == 1


async def test_a_retryable_first_answer_is_retried_with_back_off_and_each_failure_reported() -> None:
    vendor = _Vendor(_BUSY, _BUSY, Accepted("v-3"))

    result = await vendor.run()

    assert result.outcome == Accepted("v-3")
    assert vendor.calls == 3
    assert vendor.retried_after == [1, 2]
    assert len(vendor.sleeps) == 2
    assert all(0 < seconds <= 2.0 + 0.2 for seconds in vendor.sleeps)


async def test_retrying_stops_after_the_in_process_attempts_and_returns_the_last_answer() -> None:
    vendor = _Vendor(*[Retryable("503", f"busy {n}") for n in range(1, 6)])

    result = await vendor.run()

    assert vendor.calls == IN_PROCESS_ATTEMPTS
    assert result.outcome == Retryable("503", f"busy {IN_PROCESS_ATTEMPTS}")


async def test_a_short_retry_after_is_waited_out_in_full() -> None:
    vendor = _Vendor(Retryable("429", "slow down", retry_after=3.0), Accepted("v-2"))

    await vendor.run()

    assert vendor.sleeps == [3.0]


async def test_a_long_retry_after_goes_back_to_the_store_without_waiting() -> None:
    vendor = _Vendor(Retryable("429", "slow down", retry_after=SHORT_WAIT_LIMIT + 1), Accepted("v-2"))

    result = await vendor.run()

    assert vendor.calls == 1
    assert vendor.sleeps == []
    assert isinstance(result.outcome, Retryable)


def test_rescheduled_delay_doubles_from_30_seconds_and_honours_retry_after() -> None:
    rng = random.Random(7)

    assert 15 <= rescheduled_delay(IN_PROCESS_ATTEMPTS, None, rng) <= 30
    assert 30 <= rescheduled_delay(IN_PROCESS_ATTEMPTS + 1, None, rng) <= 60
    assert 1800 <= rescheduled_delay(IN_PROCESS_ATTEMPTS + 20, None, rng) <= 3600
    assert rescheduled_delay(IN_PROCESS_ATTEMPTS, 600.0, rng) == 600.0
