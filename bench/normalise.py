"""Normalise + adapt benchmark: one message through the gateway's pipeline vs msgspec on the same body.

(a) the baseline: ``msgspec.json.decode`` + ``msgspec.json.encode`` of the raw body;
(b) the pipeline: ``normalise_body`` + the channel's adapter ``build`` + encoding the vendor JSON body, with the
sandbox settings' policy and adapters. The bar: (b) within 5 × (a).

Times are the minimum over ``--repeat`` runs of ``--number`` messages each (``timeit``, so the garbage collector is
off while timing), in µs per message. ``normalise_link`` is cached, so (b) runs twice: *warm*, every message with
the same CTA links (as every user of one Braze send has), and *cold*, every message with its own links and the
cache cleared before each run (the cost of a link seen for the first time).

Usage: ``.venv/bin/python bench/normalise.py [--number 2000] [--repeat 7] [--body kakao --body email]``

See docs/ARCHITECTURE.md, "Quality bars".
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import timeit
from collections.abc import Callable, Sequence
from typing import Any, Literal, TypeVar

import msgspec
from bodies import BodyKind, braze_body

from adapters.base import Adapter
from adapters.registry import build_runtime
from gateway.models import OutboundMessage, new_message_id
from gateway.normalise.inbound import normalise_body, policy_from_settings
from gateway.normalise.links import normalise_link
from gateway.normalise.policy import Policy
from gateway.settings import load_settings

__all__ = ("Case", "Timing", "main")

_T = TypeVar("_T")
_ENCODER = msgspec.json.Encoder()
_BAR = 5.0
_KINDS: tuple[BodyKind, ...] = ("kakao", "lms-ad", "email")
Cache = Literal["warm", "cold"]


class Timing(msgspec.Struct, frozen=True):
    """µs per message of the whole pipeline and of each stage, for one body kind and cache state."""

    pipeline: float
    normalise: float
    build: float
    encode: float


class Case(msgspec.Struct, frozen=True):
    """One row of the report."""

    kind: BodyKind
    cache: Cache
    vendor: str
    body_bytes: int
    baseline: float
    timing: Timing

    @property
    def ratio(self) -> float:
        return self.timing.pipeline / self.baseline


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="normalise + adapt one message vs msgspec decode + encode.")
    parser.add_argument("--number", type=int, default=2000, help="messages per timed run (default 2000)")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs; the fastest counts (default 7)")
    parser.add_argument(
        "--body",
        action="append",
        choices=_KINDS,
        help="body kinds to time (repeatable; default all: kakao, lms-ad, email)",
    )
    parser.add_argument(
        "--profile",
        type=int,
        metavar="N",
        help="also profile (b), warm, per body kind with cProfile and print its N costliest gateway/adapters calls",
    )
    return parser.parse_args(argv)


def _best_us(work: Callable[[_T], object], items: Sequence[_T], repeat: int, setup: Callable[[], None]) -> float:
    """µs per item of the fastest of ``repeat`` runs of ``work`` over ``items``; ``setup`` runs before each run."""

    def run() -> None:
        for item in items:
            work(item)

    return min(timeit.Timer(run, setup=setup).repeat(repeat=repeat, number=1)) / len(items) * 1e6


def _keep_cache() -> None:
    """The warm runs' setup: nothing, so the links cached by the first run are hits in the later ones."""


def _bodies(kind: BodyKind, number: int, cache: Cache) -> list[dict[str, Any]]:
    # Unique users everywhere; the CTA link (the cache key) is shared when warm, unique per message when cold.
    return [
        braze_body(kind, f"u-{index}", project=356850 + (index if cache == "cold" else 0)) for index in range(number)
    ]


def _time_case(
    kind: BodyKind, cache: Cache, policy: Policy, adapters: dict[tuple[str, str], Adapter], args: argparse.Namespace
) -> Case:
    bodies = _bodies(kind, args.number, cache)
    raws = [_ENCODER.encode(body) for body in bodies]
    setup = normalise_link.cache_clear if cache == "cold" else _keep_cache
    messages: list[OutboundMessage] = [normalise_body(body, policy) for body in bodies]
    vendor = messages[0].vendor or _vendor(messages[0].channel)
    adapter = adapters[(vendor, messages[0].channel)]
    ids = [new_message_id() for _ in bodies]
    jobs = list(zip(bodies, ids, strict=True))
    requests = [adapter.build(message, message_id) for message, message_id in zip(messages, ids, strict=True)]

    def pipeline(job: tuple[dict[str, Any], str]) -> bytes:
        return _ENCODER.encode(adapter.build(normalise_body(job[0], policy), job[1]).json)

    timing = Timing(
        pipeline=_best_us(pipeline, jobs, args.repeat, setup),
        normalise=_best_us(lambda body: normalise_body(body, policy), bodies, args.repeat, setup),
        build=_best_us(lambda job: adapter.build(*job), list(zip(messages, ids, strict=True)), args.repeat, setup),
        encode=_best_us(lambda request: _ENCODER.encode(request.json), requests, args.repeat, setup),
    )
    baseline = _best_us(lambda raw: _ENCODER.encode(msgspec.json.decode(raw)), raws, args.repeat, _keep_cache)
    return Case(kind, cache, vendor, len(raws[0]), baseline, timing)


def _profile(
    kind: BodyKind, policy: Policy, adapters: dict[tuple[str, str], Adapter], args: argparse.Namespace
) -> None:
    """Print the costliest calls of (b), warm, by cumulative time: where inside normalise the time goes."""
    bodies = _bodies(kind, args.number, "warm")
    message = normalise_body(bodies[0], policy)
    adapter = adapters[(message.vendor or _vendor(message.channel), message.channel)]
    profiler = cProfile.Profile()
    profiler.enable()
    for body in bodies:
        _ENCODER.encode(adapter.build(normalise_body(body, policy), "profiled").json)
    profiler.disable()
    print(f"\nprofile of (b), {kind}, warm ({args.number} messages; cProfile inflates every call, compare shares):")
    stats = pstats.Stats(profiler, stream=sys.stdout)
    # Only the project's and the validation libraries' frames: the rest is the interpreter and the profiler.
    stats.sort_stats("cumulative").print_stats("gateway|adapters|email_validator|phonenumbers|html", args.profile)


_SANDBOX = load_settings({})


def _vendor(channel: str) -> str:
    return _SANDBOX.vendor_for(channel)


_HEADER = ("body", "cache", "vendor", "bytes", "(a) µs", "(b) µs", "b/a", "normalise", "build", "encode", "bar")
_LINE = "{:<7} {:<5} {:<9} {:>6} {:>8} {:>8} {:>6} {:>10} {:>8} {:>8}  {}"


def _row(case: Case) -> str:
    t = case.timing
    verdict = "met" if case.ratio <= _BAR else "NOT met"
    return _LINE.format(
        case.kind,
        case.cache,
        case.vendor,
        case.body_bytes,
        f"{case.baseline:.2f}",
        f"{t.pipeline:.1f}",
        f"{case.ratio:.1f}",
        f"{t.normalise:.1f}",
        f"{t.build:.1f}",
        f"{t.encode:.1f}",
        verdict,
    )


def main(argv: list[str] | None = None) -> int:
    """Time every body kind warm and cold and print the table; exit status 0 (the figures are the result)."""
    args = _parse_args(argv)
    policy = policy_from_settings(_SANDBOX)
    adapters = build_runtime(_SANDBOX).adapters
    load = os.getloadavg()[0]
    print(
        f"normalise + adapt: {args.number} messages per run, fastest of {args.repeat}; "
        f"load average {load:.2f} on {os.cpu_count()} CPUs",
        flush=True,
    )
    print(_LINE.format(*_HEADER))
    for kind in args.body or _KINDS:
        for cache in ("warm", "cold"):
            print(_row(_time_case(kind, cache, policy, adapters, args)), flush=True)
    print(
        f"\n(a) msgspec decode + encode of the raw body; (b) normalise_body + build + encode of the vendor body;"
        f" bar: b/a ≤ {_BAR:g}.\nwarm: the same CTA links in every message (one Braze send), link cache hits;"
        f" cold: new links in every message, cache cleared before each run.\n"
        f"normalise, build, encode: (b)'s stages timed alone (µs per message); their sum is close to (b)."
    )
    if args.profile:
        for kind in args.body or _KINDS:
            _profile(kind, policy, adapters, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
