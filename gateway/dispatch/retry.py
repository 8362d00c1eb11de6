"""When to try a vendor again.

Short waits are spent in-process (tenacity, while the message keeps its lease); longer ones are written to the
store as ``next_attempt_at`` so a restart keeps them.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

import tenacity

from adapters.contract import Outcome, Retryable

__all__ = (
    "IN_PROCESS_ATTEMPTS",
    "SHORT_WAIT_LIMIT",
    "Tried",
    "call_with_retries",
    "in_process_wait",
    "rescheduled_delay",
)


class Tried(Protocol):
    """What a retried call returns: anything with the vendor's :data:`Outcome`."""

    @property
    def outcome(self) -> Outcome: ...


_T = TypeVar("_T", bound=Tried)

#: Attempts made in one claim before the message goes back to the store.
IN_PROCESS_ATTEMPTS = 3
#: A ``Retry-After`` longer than this is not waited out in-process.
SHORT_WAIT_LIMIT = 5.0
_INITIAL_WAIT = 0.2
_MAX_WAIT = 2.0
_STORE_BASE_DELAY = 30.0
_STORE_MAX_DELAY = 3600.0


def _retry_after(state: tenacity.RetryCallState) -> float | None:
    outcome = state.outcome
    if outcome is None or outcome.failed:
        return None
    result = outcome.result()
    return result.outcome.retry_after if isinstance(result.outcome, Retryable) else None


def in_process_wait(attempt_number: int, retry_after: float | None = None) -> float:
    """Seconds to wait after in-process attempt ``attempt_number``: 0.2 s doubling to 2 s with up to 0.2 s of jitter,
    never shorter than the vendor's ``Retry-After``."""
    jitter = random.uniform(0, _INITIAL_WAIT)  # noqa: S311 - jitter, not security
    return max(min(_INITIAL_WAIT * 2.0 ** (attempt_number - 1) + jitter, _MAX_WAIT), retry_after or 0.0)


class _WaitHonouringRetryAfter(tenacity.wait.wait_base):
    """:func:`in_process_wait` as tenacity's wait."""

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        return in_process_wait(retry_state.attempt_number, _retry_after(retry_state))


def _is_retryable(result: Tried) -> bool:
    return isinstance(result.outcome, Retryable)


class _StopOnLongWait(tenacity.stop.stop_base):
    """Stop in-process retrying when the vendor asks for a wait too long to hold the message for."""

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        return (_retry_after(retry_state) or 0.0) > SHORT_WAIT_LIMIT


def _in_process_retrying(
    *,
    sleep: Callable[[float], Awaitable[None]],
    before_sleep: Callable[[tenacity.RetryCallState], Awaitable[None]],
) -> tenacity.AsyncRetrying:
    """Up to 3 attempts, 0.2 s doubling to 2 s with jitter; the last result is returned, never raised."""
    return tenacity.AsyncRetrying(
        stop=tenacity.stop_any(tenacity.stop_after_attempt(IN_PROCESS_ATTEMPTS), _StopOnLongWait()),
        wait=_WaitHonouringRetryAfter(),
        retry=tenacity.retry_if_result(_is_retryable),
        retry_error_callback=lambda state: state.outcome.result() if state.outcome else None,
        sleep=sleep,
        before_sleep=before_sleep,
    )


async def call_with_retries(
    call: Callable[[], Awaitable[_T]],
    *,
    sleep: Callable[[float], Awaitable[None]],
    before_sleep: Callable[[tenacity.RetryCallState], Awaitable[None]],
) -> _T:
    """Await ``call`` with :func:`_in_process_retrying`, entering tenacity only after a retryable first result.

    Most sends succeed at once, and tenacity's per-call machinery was a fifth of the dispatcher's CPU; the first
    result is handed to tenacity as its attempt 1, so back-off, ``Retry-After`` and stopping are unchanged.
    """
    first = await call()
    if not _is_retryable(first):
        return first
    pending = [first]

    async def first_then_call() -> _T:
        return pending.pop() if pending else await call()

    retrying = _in_process_retrying(sleep=sleep, before_sleep=before_sleep)
    result: _T = await retrying(first_then_call)
    return result


def rescheduled_delay(attempt_count: int, retry_after: float | None, rng: random.Random | None = None) -> float:
    """Seconds until the next claim: 30 s doubling per attempt up to 1 h, jittered, at least ``retry_after``."""
    rng = rng or random.Random()  # noqa: S311 - jitter, not security
    base = min(_STORE_BASE_DELAY * 2 ** max(0, attempt_count - IN_PROCESS_ATTEMPTS), _STORE_MAX_DELAY)
    return max(rng.uniform(base / 2, base), retry_after or 0.0)
