"""Search filters of the support API and console: query parameters to a :class:`MessageFilter`, every bad one named.

Phone numbers and emails are normalised the way ingest stored them, so ``010-1234-5678`` finds ``01012345678``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any

import msgspec

from gateway.api.masking import mask_email, mask_phone
from gateway.models import Status
from gateway.normalise.errors import FieldError
from gateway.normalise.recipients import RecipientError, normalise_email, normalise_phone
from gateway.settings import CHANNEL_VENDORS
from gateway.store.base import MessageFilter

__all__ = (
    "DEFAULT_LIMIT",
    "FILTER_PARAMS",
    "KST",
    "MAX_LIMIT",
    "InvalidFilter",
    "SearchRequest",
    "describe_filter",
    "parse_search",
    "parse_time",
    "parse_window",
    "search_errors",
)

#: Korea has no daylight saving time: a fixed offset is exact.
KST = timezone(timedelta(hours=9), "KST")
#: Query parameter -> :class:`MessageFilter` field.
FILTER_PARAMS = {
    "status": "status",
    "channel": "channel",
    "vendor": "vendor",
    "campaignId": "campaign_id",
    "dispatchId": "dispatch_id",
    "userId": "user_id",
    "phone": "phone",
    "email": "email",
    "from": "created_from",
    "to": "created_to",
}
DEFAULT_LIMIT = 50
MAX_LIMIT = 200
_VENDORS = frozenset(vendor for vendors in CHANNEL_VENDORS.values() for vendor in vendors)
_STATUSES = ", ".join(status.value for status in Status)


class InvalidFilter(ValueError):
    """Query parameters that cannot be searched by; ``errors`` names each one."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__("; ".join(str(error) for error in errors))


class SearchRequest(msgspec.Struct, frozen=True):
    """A validated search: criteria, page size and where to continue."""

    criteria: MessageFilter
    limit: int
    cursor: str | None


def parse_search(params: Mapping[str, str | None], *, naive_tz: tzinfo = UTC) -> SearchRequest:
    """Validate the search parameters (``limit`` and ``cursor`` too); empty values mean "any".

    Args:
        params: Query parameters by their API names (``userId``, ``from``, ...).
        naive_tz: The zone of a time given without an offset (UTC for the API, KST for the console's form).

    Raises:
        InvalidFilter: Naming every parameter that is wrong.
    """
    errors: list[FieldError] = []
    fields: dict[str, Any] = {}
    for name, field in FILTER_PARAMS.items():
        raw = (params.get(name) or "").strip()
        if raw:
            try:
                fields[field] = _PARSERS[name](raw, naive_tz)
            except ValueError as exc:
                errors.append(FieldError(name, str(exc)))
    if "created_from" in fields and "created_to" in fields and fields["created_from"] >= fields["created_to"]:
        errors.append(FieldError("to", "must be later than from"))
    limit = _limit(params.get("limit"), errors)
    if errors:
        raise InvalidFilter(errors)
    return SearchRequest(MessageFilter(**fields), limit, (params.get("cursor") or "").strip() or None)


def search_errors(exc: ValueError) -> list[FieldError]:
    """What was wrong with a search: the parameters :func:`parse_search` named, else the store's cursor."""
    if isinstance(exc, InvalidFilter):
        return exc.errors
    return [FieldError("cursor", "is not a cursor of this search")]


def parse_time(raw: str, naive_tz: tzinfo = UTC) -> float:
    """An ISO 8601 date or time as POSIX seconds; a time without an offset is in ``naive_tz``.

    Raises:
        ValueError: Not ISO 8601.
    """
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        raise ValueError("is not an ISO 8601 time such as 2026-11-27T12:00:00+09:00") from None
    return (when if when.tzinfo else when.replace(tzinfo=naive_tz)).timestamp()


def parse_window(
    params: Mapping[str, str | None], *, now: float, default: float, naive_tz: tzinfo = UTC
) -> tuple[float, float]:
    """The ``[from, to)`` window of the stats: ``to`` defaults to ``now``, ``from`` to ``default`` seconds before.

    Raises:
        InvalidFilter: A time is not ISO 8601, or ``from`` is not before ``to``.
    """
    errors = []
    bounds: dict[str, float] = {}
    for name in ("from", "to"):
        raw = (params.get(name) or "").strip()
        if raw:
            try:
                bounds[name] = parse_time(raw, naive_tz)
            except ValueError as exc:
                errors.append(FieldError(name, str(exc)))
    end = bounds.get("to", now)
    start = bounds.get("from", end - default)
    if not errors and start >= end:
        errors.append(FieldError("to", "must be later than from"))
    if errors:
        raise InvalidFilter(errors)
    return start, end


def describe_filter(criteria: MessageFilter) -> str:
    """A one-line description of ``criteria`` for the audit log, phone and email masked."""
    shown = {"phone": mask_phone, "email": mask_email}
    parts = []
    for name, field in FILTER_PARAMS.items():
        value = getattr(criteria, field)
        if value is None:
            continue
        if field in ("created_from", "created_to"):
            value = datetime.fromtimestamp(value, UTC).isoformat().replace("+00:00", "Z")
        parts.append(f"{name}={shown[name](value) if name in shown else value}")
    return " ".join(parts) or "(no filter)"


def _status(raw: str, _: tzinfo) -> Status:
    if raw.lower() == "refused":
        raise ValueError("refused requests are not messages: search them with GET /v1/admin/refusals (same filters)")
    try:
        return Status(raw.lower())
    except ValueError:
        raise ValueError(f"is not a status; use one of {_STATUSES}") from None


def _one_of(allowed: frozenset[str], what: str) -> Callable[[str, tzinfo], str]:
    def parse(raw: str, _: tzinfo) -> str:
        if raw.lower() not in allowed:
            raise ValueError(f"is not a {what}; use one of {', '.join(sorted(allowed))}")
        return raw.lower()

    return parse


def _text(raw: str, _: tzinfo) -> str:
    return raw


def _phone(raw: str, _: tzinfo) -> str:
    try:
        return normalise_phone(raw)
    except RecipientError as exc:
        raise ValueError(str(exc)) from None


def _email(raw: str, _: tzinfo) -> str:
    try:
        return normalise_email(raw)
    except RecipientError as exc:
        raise ValueError(str(exc)) from None


_PARSERS: dict[str, Callable[[str, tzinfo], Any]] = {
    "status": _status,
    "channel": _one_of(frozenset(CHANNEL_VENDORS), "channel"),
    "vendor": _one_of(_VENDORS, "vendor"),
    "campaignId": _text,
    "dispatchId": _text,
    "userId": _text,
    "phone": _phone,
    "email": _email,
    "from": parse_time,
    "to": parse_time,
}


def _limit(raw: str | None, errors: list[FieldError]) -> int:
    if raw is None or not raw.strip():
        return DEFAULT_LIMIT
    if not raw.strip().isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        errors.append(FieldError("limit", f"must be a whole number from 1 to {MAX_LIMIT}"))
        return DEFAULT_LIMIT
    return int(raw)
