"""The support search as SQL, the same for both backends, and its opaque cursor.

Every filter is an equality or range on an indexed column and the order is ``(created_at, id)`` descending, so
each page is one index range scan whatever the table size; the cursor is the last row's ``(created_at, id)``.
"""

from __future__ import annotations

import base64
import binascii

import msgspec

from gateway.models import StoredMessage
from gateway.store.base import MessageFilter, Page

__all__ = ("decode_cursor", "encode_cursor", "page_from", "search_query")

#: Most selective first: the first given one is the filter the query's index serves.
_EQUALS = ("phone", "email", "user_id", "dispatch_id", "campaign_id", "status", "vendor", "channel")
_CURSOR = msgspec.json.Decoder(tuple[float, str])


def encode_cursor(created_at: float, message_id: str) -> str:
    """Return the cursor that continues after the message ``(created_at, message_id)``."""
    return base64.urlsafe_b64encode(msgspec.json.encode((created_at, message_id))).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[float, str]:
    """Return the ``(created_at, id)`` a cursor continues after.

    Raises:
        ValueError: The cursor was not made by :func:`encode_cursor`.
    """
    try:
        return _CURSOR.decode(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise ValueError("invalid cursor") from exc


def search_query(
    criteria: MessageFilter,
    *,
    limit: int,
    cursor: str | None,
    columns: str,
    placeholder: str,
    sqlite: bool = False,
    table: str = "messages",
) -> tuple[str, list[object]]:
    """Return the SQL and parameters of one page (one row more than ``limit``, to tell if another page follows).

    ``created_from`` is inclusive and ``created_to`` exclusive. ``placeholder`` is the driver's (``?``, ``%s``).
    ``table`` is ``messages`` or ``refusals``, which has the same search columns but ``status`` and ``vendor``.
    With ``sqlite``, equality filters after the most selective one are written ``+column``, which keeps SQLite
    (which plans without statistics) off their indexes: ``status = 'delivered'`` must not drive a user's search.

    Raises:
        ValueError: ``limit`` is below 1 or the cursor is invalid.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    terms: list[str] = []
    params: list[object] = []
    for name in _EQUALS:
        value = getattr(criteria, name)
        if value is not None:
            demoted = "+" if sqlite and params else ""
            terms.append(f"{demoted}{name} = {placeholder}")
            params.append(str(value))  # a Status is a StrEnum: its value, for every driver
    if criteria.created_from is not None:
        terms.append(f"created_at >= {placeholder}")
        params.append(criteria.created_from)
    if criteria.created_to is not None:
        terms.append(f"created_at < {placeholder}")
        params.append(criteria.created_to)
    if cursor is not None:
        terms.append(f"(created_at, id) < ({placeholder}, {placeholder})")
        params.extend(decode_cursor(cursor))
    where = f"WHERE {' AND '.join(terms)} " if terms else ""
    params.append(limit + 1)
    sql = f"SELECT {columns} FROM {table} {where}ORDER BY created_at DESC, id DESC LIMIT {placeholder}"  # noqa: S608 - only column names and placeholders are interpolated
    return sql, params


def page_from(items: list[StoredMessage], limit: int) -> Page:
    """Cut the ``limit + 1`` rows of :func:`search_query` into a page and its next cursor."""
    if len(items) <= limit:
        return Page(items, None)
    last = items[limit - 1]
    return Page(items[:limit], encode_cursor(last.created_at, last.id))
