"""How a claim's batchable messages become requests (docs/ARCHITECTURE.md, "Batches")."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import TypeVar

__all__ = ("chunks",)

_T = TypeVar("_T")


def chunks(
    keyed: Iterable[tuple[Hashable, _T]], size: int, recipient: Callable[[_T], Hashable] | None = None
) -> list[list[_T]]:
    """Group ``keyed`` items by key into chunks of at most ``size``; with ``recipient``, none holding one twice.

    Keys keep the order they were first seen in, and items their order within a key (a claim is oldest due
    first). An item goes in the first chunk of its key with room and without its recipient: a campaign sent
    twice to one person makes a second request, not a duplicate recipient in one (the adapter's
    :class:`~adapters.batch.DistinctRecipients`).
    """
    groups: dict[Hashable, list[tuple[list[_T], set[Hashable]]]] = {}
    for key, item in keyed:
        group = groups.setdefault(key, [])
        who = None if recipient is None else recipient(item)
        chunk = next((c for c in group if len(c[0]) < size and (who is None or who not in c[1])), None)
        if chunk is None:
            chunk = ([], set())
            group.append(chunk)
        chunk[0].append(item)
        if who is not None:
            chunk[1].add(who)
    return [members for group in groups.values() for members, _ in group]
