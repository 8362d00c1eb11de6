"""Where to keep the rate limit that several gateway processes share: PostgreSQL or Redis (issue 10).

Measures, from Python on this machine, one GCRA slot reservation as the gateway makes it:

- PostgreSQL: the ``vendor_gates`` upsert of :class:`~gateway.store.postgres.PostgresStore` (one statement,
  autocommit, UNLOGGED table), through psycopg 3 async;
- Redis: the same algorithm as a Lua script (``EVALSHA``, Redis's own clock), through a minimal RESP client on
  asyncio streams (the gateway has no Redis client library to compare with);

each with 1, 4 and 16 concurrent callers for ``--duration`` seconds: reservations/s and latency percentiles.
Then the figure that decides: how many reservations the gateway's :class:`SharedRateLimiter` makes while two
processes' worth of callers take 1,000 slots/s, because callers waiting together share one reservation.

Run: ``.venv/bin/python bench/shared_limits.py [--database-url URL] [--redis HOST:PORT] [--duration 3]``.
PostgreSQL work happens in the dedicated ``bench`` database (see ``stores.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable

from stores import PostgresTarget

from gateway.dispatch.limits import SharedRateLimiter
from gateway.store.postgres import PostgresStore

_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local first = math.max(tat, now)
redis.call('SET', KEYS[1], tostring(first + tonumber(ARGV[1])))
return tostring(first - now)
"""


class Resp:
    """Just enough of the Redis protocol for ``SCRIPT LOAD`` and ``EVALSHA``."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader, self._writer = reader, writer

    @classmethod
    async def connect(cls, host: str, port: int) -> Resp:
        return cls(*await asyncio.open_connection(host, port))

    async def call(self, *args: str) -> bytes:
        parts = [f"*{len(args)}\r\n".encode()]
        for arg in args:
            data = arg.encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
        self._writer.write(b"".join(parts))
        line = await self._reader.readline()
        if line.startswith(b"$"):
            body = await self._reader.readexactly(int(line[1:]) + 2)
            return body[:-2]
        if line.startswith(b"-"):
            raise RuntimeError(line.decode().strip())
        return line.strip()

    async def close(self) -> None:
        self._writer.close()
        await self._writer.wait_closed()


async def _measure(callers: list[Callable[[], Awaitable[object]]], duration: float) -> tuple[float, list[float]]:
    """Run each caller in a loop for ``duration`` s; return calls/s and every latency in ms."""
    latencies: list[float] = []
    deadline = time.perf_counter() + duration

    async def loop(call: Callable[[], Awaitable[object]]) -> None:
        while (started := time.perf_counter()) < deadline:
            await call()
            latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(loop(call) for call in callers))
    return len(latencies) / (time.perf_counter() - started), latencies


def _report(label: str, concurrency: int, rate: float, latencies: list[float]) -> None:
    cuts = statistics.quantiles(latencies, n=100)
    figures = f"{rate:>8,.0f} reservations/s  p50 {cuts[49]:.3f} ms  p99 {cuts[98]:.3f} ms"
    print(f"{label:<10} {concurrency:>3} callers: {figures}")


async def _postgres(url: str, duration: float) -> None:
    stores = [PostgresStore(url, max_size=16) for _ in range(2)]  # two "processes"
    for store in stores:
        await store.open()
    try:
        for concurrency in (1, 4, 16):
            callers = [
                lambda store=stores[n % 2]: store.reserve_slots("bench", count=1, interval=0.001, now=None)
                for n in range(concurrency)
            ]
            rate, latencies = await _measure(callers, duration)  # type: ignore[arg-type]
            _report("PostgreSQL", concurrency, rate, latencies)
        await _batched(stores, duration)
    finally:
        for store in stores:
            await store.close()


async def _batched(stores: list[PostgresStore], duration: float) -> None:
    """Two processes' limiters at 1,000 slots/s with 64 callers each: count the statements they make."""
    made = [0]

    class Counting:
        def __init__(self, store: PostgresStore) -> None:
            self._store = store

        async def reserve_slots(self, product: str, *, count: int, interval: float, now: float | None) -> object:
            made[0] += 1
            return await self._store.reserve_slots(product, count=count, interval=interval, now=now)

    limiters = [SharedRateLimiter("bench-batched", 1000, Counting(store), burst=1) for store in stores]  # type: ignore[arg-type]
    admitted = [0]
    deadline = time.perf_counter() + duration

    async def caller(limiter: SharedRateLimiter) -> None:
        while time.perf_counter() < deadline:
            await limiter.acquire()
            admitted[0] += 1

    started = time.perf_counter()
    await asyncio.gather(*(caller(limiter) for limiter in limiters for _ in range(64)))
    elapsed = time.perf_counter() - started
    print(
        f"SharedRateLimiter, 2 processes x 64 callers, limit 1,000/s: {admitted[0] / elapsed:,.0f} slots/s "
        f"admitted with {made[0] / elapsed:,.0f} statements/s ({admitted[0] / max(made[0], 1):.1f} slots each)"
    )


async def _redis(address: str, duration: float) -> None:
    host, _, port = address.partition(":")
    try:
        clients = [await Resp.connect(host, int(port or 6379)) for _ in range(16)]
    except OSError as exc:
        print(f"Redis at {address}: not reachable ({exc}); skipped")
        return
    try:
        sha = (await clients[0].call("SCRIPT", "LOAD", _LUA)).decode()
        for concurrency in (1, 4, 16):
            callers = [
                lambda client=clients[n]: client.call("EVALSHA", sha, "1", "bench:gcra", "0.001")
                for n in range(concurrency)
            ]
            rate, latencies = await _measure(callers, duration)  # type: ignore[arg-type]
            _report("Redis", concurrency, rate, latencies)
    finally:
        for client in clients:
            await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--redis", default="127.0.0.1:6379")
    parser.add_argument("--duration", type=float, default=3.0)
    args = parser.parse_args()
    target = PostgresTarget(args.database_url)
    target.create()
    asyncio.run(_postgres(target.url, args.duration))
    asyncio.run(_redis(args.redis, args.duration))


if __name__ == "__main__":
    main()
