"""The ingest decode with its guards vs msgspec alone (issue 15): what refusing deep nesting and repeated keys costs.

(a) ``msgspec.json.Decoder(dict[str, Any]).decode`` of the raw body, what ingest did before;
(b) :func:`gateway.normalise.json_body.decode_object`: the same decode, then the nesting and repeated-key checks.

Times are the minimum over ``--repeat`` runs of ``--number`` decodes each, in µs per body.

Usage: ``.venv/bin/python bench/decode.py [--number 200000] [--repeat 7]``
"""

from __future__ import annotations

import argparse
import functools
import sys
import timeit
from collections.abc import Callable
from typing import Any

import msgspec
from bodies import BodyKind, braze_body

from gateway.normalise.json_body import decode_object

__all__ = ("main",)

_KINDS: tuple[BodyKind, ...] = ("kakao", "lms-ad", "email")


def _per_call(call: Callable[[], object], number: int, repeat: int) -> float:
    return min(timeit.repeat(call, number=number, repeat=repeat)) / number * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="guarded JSON decode vs msgspec alone")
    parser.add_argument("--number", type=int, default=200_000, help="decodes per timed run (default 200000)")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs; the fastest counts (default 7)")
    args = parser.parse_args(argv)
    plain = msgspec.json.Decoder(dict[str, Any])
    print(f"{'body':8} {'bytes':>6} {'msgspec µs':>11} {'guarded µs':>11} {'added µs':>9}")
    for kind in _KINDS:
        raw = msgspec.json.encode(braze_body(kind, "u-1") | {"buttons": [{"name": "a", "linkMobile": "b"}]})
        alone = _per_call(functools.partial(plain.decode, raw), args.number, args.repeat)
        guarded = _per_call(functools.partial(decode_object, raw), args.number, args.repeat)
        print(f"{kind:8} {len(raw):>6} {alone:>11.2f} {guarded:>11.2f} {guarded - alone:>9.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
