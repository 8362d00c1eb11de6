"""Dependency injection benchmark: what Litestar's DI costs a route per request, against ``request.app.state``.

Otherwise empty ``POST`` routes on one app: one reads the five objects ingest uses (store, dispatcher, settings,
clock, monitor) from ``request.app.state``, the others are given one or all five by ``Provide`` (synchronous
providers, ``SkipValidation``, as ``gateway/api/deps.py`` declares them). Each is called through the ASGI interface
in-process (no server, no sockets), so the difference is the injection itself. Times are the minimum over
``--repeat`` runs of ``--number`` requests, in µs per request.

Usage: ``.venv/bin/python bench/injection.py [--number 20000] [--repeat 7]``

See docs/ARCHITECTURE.md, "Support API and console" (why ingest keeps ``app.state``).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable
from typing import Any

from litestar import Litestar, Request, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import SkipValidation

__all__ = ("main",)

_NAMES = ("store", "dispatcher", "settings", "clock", "monitor")


def _provider(name: str) -> Callable[[State], object]:
    def provide(state: State) -> object:
        return state[name]

    return provide


Injected = NamedDependency[SkipValidation[object]]


@post("/state", status_code=202)
async def from_state(request: Request[Any, Any, State]) -> None:
    state = request.app.state
    for name in _NAMES:
        state[name]


@post("/injected-one", status_code=202)
async def injected_one(store: Injected) -> None:
    return None


@post("/injected", status_code=202)
async def injected(
    store: Injected, dispatcher: Injected, settings: Injected, clock: Injected, monitor: Injected
) -> None:
    return None


def _app() -> Litestar:
    return Litestar(
        route_handlers=[from_state, injected_one, injected],
        state=State({name: object() for name in _NAMES}),
        dependencies={name: Provide(_provider(name), sync_to_thread=False) for name in _NAMES},
        logging_config=None,
    )


async def _run(app: Litestar, path: str, number: int) -> float:
    """Seconds for ``number`` requests to ``path`` through the ASGI interface."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-length", b"0")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "state": {},
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        return None

    started = time.perf_counter()
    for _ in range(number):
        await app(dict(scope), receive, send)  # type: ignore[arg-type]
    return time.perf_counter() - started


async def _measure(number: int, repeat: int) -> dict[str, float]:
    app = _app()
    async with app.lifespan():
        best = {"/state": float("inf"), "/injected-one": float("inf"), "/injected": float("inf")}
        for _ in range(repeat):
            for path in best:  # alternate, so drift in the machine's load hits both alike
                best[path] = min(best[path], await _run(app, path, number))
    return {path: seconds / number * 1e6 for path, seconds in best.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description="Litestar DI against app.state, per request.")
    parser.add_argument("--number", type=int, default=20_000, help="requests per run (default 20000)")
    parser.add_argument("--repeat", type=int, default=7, help="runs per route; the minimum counts (default 7)")
    args = parser.parse_args()
    times = asyncio.run(_measure(args.number, args.repeat))
    state, one, five = times["/state"], times["/injected-one"], times["/injected"]
    print(f"request.app.state: {state:.1f} µs/request")
    print(f"one injected:      {one:.1f} µs/request (+{one - state:.1f} µs)")
    print(f"five injected:     {five:.1f} µs/request (+{five - state:.1f} µs)")


if __name__ == "__main__":
    main()
