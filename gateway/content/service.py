"""The Connected Content cache: fresh copies answer at once, stale ones too while one refresh runs.

Concurrent misses of one key share one upstream call (single flight); every answer is given within
:data:`ANSWER_DEADLINE`, whatever the upstream does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from typing import Literal, NamedTuple

import httpx

from gateway.content.cache import ContentCache, Entry, cache_key
from gateway.content.upstream import UpstreamError, fetch_object
from gateway.metrics import CONTENT_ANSWERS, CONTENT_UPSTREAM_ERRORS, CONTENT_UPSTREAM_LATENCY

__all__ = ("ANSWER_DEADLINE", "Answer", "ContentService")

_log = logging.getLogger(__name__)
#: The longest a request waits for an upstream call: Braze gives up after 2 s, and the answer must still travel.
ANSWER_DEADLINE = 1.9
#: A stale copy whose refresh failed is not refreshed again for this long (the copy keeps answering meanwhile).
_RETRY_PAUSE = 5.0

Outcome = Literal["HIT", "MISS", "STALE"]


class Answer(NamedTuple):
    """A cached or fetched upstream answer: the JSON object's bytes, how it was found, and its age in seconds."""

    body: bytes
    cache: Outcome
    age: int


class _Counters(NamedTuple):
    """A source's metric children, looked up once rather than on every answer."""

    hit: Callable[[], None]
    miss: Callable[[], None]
    stale: Callable[[], None]
    error: Callable[[], None]


class ContentService:
    """The sources, their cache, and the upstream calls in flight.

    Args:
        sources: Upstream URL by source name.
        client: The HTTP client for upstream calls (closed by :meth:`aclose`).
        ttl: Seconds a copy is fresh.
        timeout: Seconds an upstream call may take, body included.
        max_bytes: The largest upstream answer accepted.
        list_path: Keys under which an answer must hold a JSON list, if any.
        cache_bytes: The cache's bound.
        clock: POSIX time for copies' ages.
        deadline: The longest a request waits for an upstream call.
    """

    def __init__(
        self,
        sources: Mapping[str, str],
        client: httpx.AsyncClient,
        *,
        ttl: float,
        timeout: float,
        max_bytes: int,
        list_path: tuple[str, ...] | None,
        cache_bytes: int,
        clock: Callable[[], float] = time.time,
        deadline: float = ANSWER_DEADLINE,
    ) -> None:
        self.sources = dict(sources)
        self.cache = ContentCache(cache_bytes)
        self._client = client
        self._ttl = ttl
        self._timeout = timeout
        self._max_bytes = max_bytes
        self._list_path = list_path
        self._clock = clock
        self._deadline = deadline
        self._flights: dict[bytes, asyncio.Task[Entry | UpstreamError]] = {}
        self._counters = {
            name: _Counters(*(CONTENT_ANSWERS.labels(name, cache).inc for cache in ("hit", "miss", "stale", "error")))
            for name in self.sources
        }

    async def answer(self, source: str, params: list[tuple[str, str]]) -> Answer:
        """The answer of ``source`` (a configured name) for ``params`` (sorted query parameters).

        Raises:
            UpstreamError: Nothing is cached and the upstream gave no usable answer within the deadline.
        """
        key = cache_key(source, params)
        counters = self._counters[source]
        entry = self.cache.get(key)
        if entry is not None:
            now = self._clock()
            age = now - entry.stored_at
            if age < self._ttl:
                counters.hit()
                return Answer(entry.body, "HIT", int(age))
            if now >= entry.retry_at:
                self._flight(key, source, params)
            counters.stale()
            return Answer(entry.body, "STALE", int(age))
        try:
            result = await asyncio.wait_for(asyncio.shield(self._flight(key, source, params)), self._deadline)
        except TimeoutError:
            result = UpstreamError("deadline", f"The upstream did not answer within {self._deadline:g} s.")
        if isinstance(result, UpstreamError):
            counters.error()
            raise result
        counters.miss()
        return Answer(result.body, "MISS", int(self._clock() - result.stored_at))

    def _flight(self, key: bytes, source: str, params: list[tuple[str, str]]) -> asyncio.Task[Entry | UpstreamError]:
        """The upstream call for ``key`` in flight, started if there is none."""
        flight = self._flights.get(key)
        if flight is None:
            flight = asyncio.create_task(self._fetch(key, source, params), name=f"content {source}")
            self._flights[key] = flight
            flight.add_done_callback(lambda done: self._landed(key, done))
        return flight

    def _landed(self, key: bytes, flight: asyncio.Task[Entry | UpstreamError]) -> None:
        if self._flights.get(key) is flight:
            del self._flights[key]

    async def _fetch(self, key: bytes, source: str, params: list[tuple[str, str]]) -> Entry | UpstreamError:
        """Call the upstream; cache a usable answer, or keep the stale copy (if any) and return the error."""
        started = time.perf_counter()
        try:
            body = await fetch_object(
                self._client,
                self.sources[source],
                params,
                time_limit=self._timeout,
                max_bytes=self._max_bytes,
                list_path=self._list_path,
            )
        except UpstreamError as error:
            CONTENT_UPSTREAM_ERRORS.labels(source, error.reason).inc()
            # The source's name and the reason only: the URL may carry the upstream's key, the query a user's data.
            _log.warning("content upstream %s failed: %s", source, error.reason)
            stale = self.cache.get(key)
            if stale is not None:
                stale.retry_at = self._clock() + _RETRY_PAUSE
            return error
        finally:
            CONTENT_UPSTREAM_LATENCY.labels(source).observe(time.perf_counter() - started)
        entry = Entry(body, self._clock())
        self.cache.put(key, entry)
        return entry

    async def aclose(self) -> None:
        """Cancel the upstream calls in flight and close the client."""
        flights = list(self._flights.values())
        for flight in flights:
            flight.cancel()
        for flight in flights:
            with contextlib.suppress(asyncio.CancelledError):
                await flight
        await self._client.aclose()
