"""Braze feedback: final states reported to Braze as custom events through ``POST /users/track``.

The outbox rows are written in the transaction of each final transition; this duty sends them in batches of
75 events, the most one request may carry, within Braze's 3,000 requests per 3 seconds. A batch is retried
in-process on 429, 5xx and transport errors; a batch that still fails stays in the outbox and reporting pauses
(30 s, doubling to 10 min) so a Braze outage or a wrong key does not turn into a storm of requests. Rows are
marked sent only after Braze answered 2xx, so each (message, state) is reported once, and again only if the
gateway stops between Braze's answer and that mark.

Events carry the Braze user id and the message's ids, never a phone number or an email address.

See docs/ARCHITECTURE.md, "Receipts".
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import msgspec
import tenacity

from adapters.base import RETRYABLE_HTTP, parse_retry_after
from gateway.dispatch.limits import RateLimiter
from gateway.store.base import FeedbackItem, Store

__all__ = ("EVENT_PREFIX", "MAX_EVENTS", "BrazeReporter", "braze_event")

#: Event names are this prefix and the final state: ``gateway_message_delivered``, ``..._fallback``, ...
EVENT_PREFIX = "gateway_message_"
#: Objects one ``/users/track`` request may carry.
MAX_EVENTS = 75
_ATTEMPTS = 3
#: Longer waits than this are not spent in-process: reporting pauses instead.
_SHORT_WAIT = 5.0
_FIRST_PAUSE = 30.0
_MAX_PAUSE = 600.0
_JSON = msgspec.json.Encoder()
_log = logging.getLogger(__name__)


def braze_event(item: FeedbackItem) -> dict[str, Any]:
    """The ``/users/track`` event object for one final state (properties without a value are left out)."""
    record = item.record
    braze = record.message.braze
    properties = {
        "message_id": record.id,
        "channel": record.channel,
        "vendor": record.vendor,
        "campaign_id": braze.campaign_id,
        "campaign_name": braze.campaign_name,
        "dispatch_id": braze.dispatch_id,
        "canvas_id": braze.canvas_id,
        "canvas_step_id": braze.canvas_step_id,
        "send_id": braze.send_id,
        "vendor_code": item.code,
        "parent_message_id": record.parent_id,
        "fallback_message_id": record.child_id,
    }
    return {
        "external_id": record.message.user_id,
        "name": f"{EVENT_PREFIX}{item.state}",
        "time": datetime.fromtimestamp(item.at, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "properties": {key: value for key, value in properties.items() if value is not None},
    }


class _Failed(Exception):
    """Braze did not take the batch; ``retry_after`` is its ``Retry-After`` when it gave one."""

    def __init__(self, reason: str, *, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retryable = retryable
        self.retry_after = retry_after


class BrazeReporter:
    """Sends queued final states to Braze; a :class:`~gateway.dispatch.periodic.Duty`.

    Args:
        store: The outbox.
        client: The shared HTTP client.
        rest_url: The workspace's REST endpoint (``GATEWAY_BRAZE_REST_URL``).
        api_key: A REST API key with ``users.track`` permission (``GATEWAY_BRAZE_API_KEY``).
        clock: Current POSIX time.
        sleep: Waits between in-process retries; injected so tests need not wait.
        interval: Seconds between passes when the outbox had less than a batch.
        lease: Seconds a claimed batch is hidden from other reporters.
    """

    name = "Braze feedback"
    batch_size = MAX_EVENTS

    def __init__(
        self,
        store: Store,
        client: httpx.AsyncClient,
        *,
        rest_url: str,
        api_key: str,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        interval: float = 1.0,
        lease: float = 120.0,
    ) -> None:
        self._store = store
        self._client = client
        self._url = f"{rest_url.rstrip('/')}/users/track"
        self._headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
        self._clock = clock
        self._sleep = sleep
        self._lease = lease
        # Braze allows 3,000 requests per 3 seconds: 1,500 at once plus 500/s keeps any 3 s within it.
        self._limiter = RateLimiter(500, burst=1500)
        self._pause = 0.0
        self._paused_until = 0.0
        self.interval = interval

    async def run_once(self) -> int:
        """Send one batch; return how many events it held (0 while reporting is paused)."""
        if self._clock() < self._paused_until:
            return 0
        items = await self._store.claim_feedback(now=self._clock(), limit=MAX_EVENTS, lease=self._lease)
        if not items:
            return 0
        ids = [item.id for item in items]
        try:
            await self._send_with_retries({"events": [braze_event(item) for item in items]})
        except _Failed as exc:
            self._pause = min(max(self._pause * 2, _FIRST_PAUSE), _MAX_PAUSE)
            self._paused_until = self._clock() + max(self._pause, exc.retry_after or 0.0)
            _log.warning("Braze feedback failed (%s); paused", exc, extra={"count": len(ids)})
            await self._store.feedback_failed(ids, next_try_at=self._paused_until)
            return 0
        self._pause = 0.0
        await self._store.feedback_sent(ids, now=self._clock())
        return len(items)

    async def _send_with_retries(self, body: dict[str, Any]) -> None:
        """Up to 3 tries, 0.5 s doubling with jitter (or Braze's ``Retry-After`` when it asks for a short wait)."""
        backoff = tenacity.wait_exponential_jitter(multiplier=0.5, max=_SHORT_WAIT, jitter=0.5)
        retrying = tenacity.AsyncRetrying(
            stop=tenacity.stop_any(tenacity.stop_after_attempt(_ATTEMPTS), _StopOnLongWait()),
            wait=lambda state: max(backoff(state), _retry_after(state)),
            retry=tenacity.retry_if_exception(lambda exc: isinstance(exc, _Failed) and exc.retryable),
            sleep=self._sleep,
            reraise=True,
        )
        await retrying(self._send, body)

    async def _send(self, body: dict[str, Any]) -> None:
        await self._limiter.acquire()
        try:
            response = await self._client.post(self._url, headers=self._headers, content=_JSON.encode(body))
        except httpx.HTTPError as exc:
            raise _Failed(type(exc).__name__, retryable=True) from None
        if response.is_success:
            _note_refused_events(response)
            return
        status = response.status_code
        # Braze dates a Retry-After by its own clock, so it is read against real time.
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        raise _Failed(f"HTTP {status}", retryable=status in RETRYABLE_HTTP, retry_after=retry_after)


def _note_refused_events(response: httpx.Response) -> None:
    """Log the events Braze refused inside an accepted batch: sending them again would be refused again."""
    try:
        errors = _ANSWER.decode(response.content).errors
    except (msgspec.DecodeError, msgspec.ValidationError):
        return
    if errors:
        kinds = sorted({str(error.get("type", "unknown")) for error in errors})
        _log.warning("Braze refused %d event(s) of a batch: %s", len(errors), "; ".join(kinds))


class _Answer(msgspec.Struct):
    """What a 2xx ``/users/track`` answer may carry besides success: the objects Braze could not take."""

    errors: list[dict[str, Any]] = msgspec.field(default_factory=list)


_ANSWER = msgspec.json.Decoder(_Answer)


class _StopOnLongWait(tenacity.stop.stop_base):
    """Stop retrying in-process when Braze asks for a longer wait than is worth holding the batch for."""

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        return _retry_after(retry_state) > _SHORT_WAIT


def _retry_after(state: tenacity.RetryCallState) -> float:
    """The ``Retry-After`` of the last failed try, or 0."""
    exc = state.outcome.exception() if state.outcome else None
    return (exc.retry_after or 0.0) if isinstance(exc, _Failed) else 0.0
