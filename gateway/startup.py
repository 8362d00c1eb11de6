"""What a process says when it starts: one summary line of its configuration, without any secret.

Which vendor sends each channel and whether it is real or emulated, which store, how many tokens of each kind,
whether the dispatcher and the Braze feedback run, so an operator reading the first lines of a log knows what
this process will do.
"""

from __future__ import annotations

from importlib import metadata
from typing import Literal

import psycopg

from adapters.registry import product_of
from gateway.settings import CHANNEL_VENDORS, Settings
from gateway.store.urls import SqliteUrl, parse_database_url

__all__ = ("Role", "describe_store", "summary", "version")

#: What the process is: ``serve`` (HTTP, with the dispatcher unless it is off) or ``worker`` (the dispatcher).
Role = Literal["serve", "worker"]


def version() -> str:
    """The installed gateway's version."""
    try:
        return metadata.version("vendor-webhook-gateway")
    except metadata.PackageNotFoundError:  # run from a source tree that was not installed
        return "unknown"


def summary(settings: Settings, role: Role, *, dispatcher: bool) -> str:
    """One line: version, role, store, vendors (real or emulated), tokens, content sources, dispatcher, feedback."""
    vendors = ", ".join(
        f"{channel} {vendor} ({'emulated' if product_of(vendor, channel) in settings.emulated else 'real'})"
        for channel in CHANNEL_VENDORS
        for vendor in (settings.vendor_for(channel),)
    )
    operators = sum(member.role == "operator" for member in settings.staff_tokens)
    parts = [
        f"gateway {version()} {role}",
        f"store {describe_store(settings.database_url)}",
        f"vendors: {vendors}",
    ]
    if role == "serve":
        parts.append(
            f"tokens: {len(settings.ingest_tokens)} ingest, {len(settings.staff_tokens)} staff "
            f"({operators} operator, {len(settings.staff_tokens) - operators} viewer)"
        )
        if settings.content_sources:
            # Names only: a source's URL may carry the upstream's key.
            names = ", ".join(settings.content_sources)
            parts.append(f"Connected Content: {names} (TTL {settings.content_ttl:g} s)")
    parts.append(f"dispatcher {'on' if dispatcher else 'off'}")
    parts.append(f"Braze feedback {'on' if settings.braze_feedback else 'off'}")
    return "; ".join(parts)


def describe_store(database_url: str) -> str:
    """The store's kind and place, never its credentials: ``SQLite ./var/gateway.db``, ``PostgreSQL db@host:5432``."""
    target = parse_database_url(database_url)
    if isinstance(target, SqliteUrl):
        return f"SQLite {target.path}"
    try:
        parts = psycopg.conninfo.conninfo_to_dict(target.conninfo)
    except psycopg.ProgrammingError:
        return "PostgreSQL"
    where = f"{parts.get('host') or 'local socket'}:{parts.get('port') or 5432}"
    return f"PostgreSQL {parts.get('dbname') or ''}@{where}"
