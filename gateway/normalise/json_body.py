"""Reading a JSON body safely: nesting limited, duplicate keys refused (ingest and vendor callbacks alike).

msgspec decodes recursively and stops only at Python's recursion limit, so the depth a body may have would
depend on how deep the stack already is; and like most JSON parsers it keeps the last of two equal keys, so
``{"phone": a, "phone": b}`` would silently send to ``b``. Both are checked here with a fixed, documented limit.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

import msgspec

__all__ = ("MAX_JSON_DEPTH", "BodyError", "check_json", "decode_object")

#: Nesting of arrays and objects a body may have. A Braze body needs 3 (the body, ``buttons``, a button), the
#: deepest vendor callback 6 (docs/vendors.md); msgspec itself gives up somewhere below 1,000 levels.
MAX_JSON_DEPTH = 32
_TOO_DEEP = f"The body nests arrays and objects more than {MAX_JSON_DEPTH} levels deep."
_OBJECT = msgspec.json.Decoder(dict[str, Any])
_ANY = msgspec.json.Decoder()
# The end of a key: a quote, blank space, a colon. Inside a string a quote is escaped, so this matches at least
# once per key and seldom more (``\\":`` in a text).
_KEY_END = re.compile(rb'"[ \t\n\r]*:')


_CONTAINERS = frozenset({dict, list})


class BodyError(ValueError):
    """A body that is not valid JSON, too deep, not of the expected shape or with a key given twice."""


def decode_object(raw: bytes) -> dict[str, Any]:
    """Decode a JSON object checked by :func:`check_json`'s rules.

    Raises:
        BodyError: Says what is wrong, for the sender.
    """
    try:
        body = _OBJECT.decode(raw)
    except RecursionError:
        raise BodyError(_TOO_DEEP) from None
    except msgspec.ValidationError:
        raise BodyError("The body must be a JSON object.") from None
    except msgspec.DecodeError as exc:
        raise BodyError(f"The body is not valid JSON: {exc}.") from None
    _check(raw, body)
    return body


def check_json(raw: bytes) -> None:
    """Check that ``raw`` is JSON nested at most :data:`MAX_JSON_DEPTH` levels without a key given twice.

    Raises:
        BodyError: Says what is wrong.
    """
    try:
        value = _ANY.decode(raw)
    except RecursionError:
        raise BodyError(_TOO_DEEP) from None
    except msgspec.DecodeError as exc:
        raise BodyError(f"The body is not valid JSON: {exc}.") from None
    _check(raw, value)


def _check(raw: bytes, value: object) -> None:
    keys = _keys(value, 1) if isinstance(value, dict | list) else 0
    # Fewer keys decoded than written means one was given twice; a cheap count first, the exact check only then.
    if len(_KEY_END.findall(raw)) > keys:
        json.loads(raw, object_pairs_hook=_unique)


def _keys(value: dict[str, Any] | list[Any], depth: int) -> int:
    """How many keys the objects in ``value`` have, nested ones included; refuses nesting past the limit."""
    if depth > MAX_JSON_DEPTH:
        raise BodyError(_TOO_DEEP)
    items: Iterable[Any] = value.values() if isinstance(value, dict) else value
    count = len(value) if isinstance(value, dict) else 0
    for item in items:
        # Exact types: the decoder makes plain dicts and lists, and this runs for every value of every ingest.
        if type(item) in _CONTAINERS:
            count += _keys(item, depth + 1)
    return count


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            shown = key if len(key) <= 40 else key[:39] + "…"
            raise BodyError(f'The key "{shown}" is given twice in one object; give each key once.')
        found[key] = value
    return found
