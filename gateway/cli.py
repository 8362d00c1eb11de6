"""The ``gateway`` console script: serve, worker, migrate, replay, purge."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from gateway.log import configure_logging
from gateway.settings import ConfigError, Settings, StaffToken, load_settings
from gateway.startup import version
from gateway.store.base import StoreUnavailable

if TYPE_CHECKING:
    from gateway.store.base import Store

__all__ = ("main",)

_T = TypeVar("_T")
_log = logging.getLogger("gateway.cli")
#: Who the audit log and the timeline name for what the command line does; whoever runs it has the database.
_CLI = StaffToken(name="cli", role="operator", token="")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``gateway`` command.

    A configuration error is one line on stderr and exit status 2; a database that cannot be reached at start is
    one line and exit status 3.
    """
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"gateway: configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    try:
        return int(args.run(settings, args) or 0)
    except StoreUnavailable as exc:
        print(f"gateway: the database cannot be reached: {_first_line(exc)}", file=sys.stderr)
        return 3


#: Where the README's tables of variables are; each command's help names the variables it reads.
_SEE = "All variables: README.md, Configuration."
_STORE_ENV = "GATEWAY_DATABASE_URL (sqlite:///./var/gateway.db or postgresql://...), GATEWAY_LOG_LEVEL"
_COMMANDS: dict[str, tuple[str, str, str]] = {
    # name: (one-line help, description, the variables it reads)
    "serve": (
        "HTTP API, console and dispatcher",
        "Serve the Braze ingest endpoint, the vendors' callbacks, the support API and console (/admin), health "
        "and metrics; the dispatcher runs in the same process unless GATEWAY_DISPATCHER=off. Migrates the "
        "database first.",
        f"GATEWAY_HOST, GATEWAY_PORT, {_STORE_ENV}, GATEWAY_INGEST_TOKENS, GATEWAY_STAFF_TOKENS, "
        "GATEWAY_SESSION_SECRET (needed with --workers > 1), GATEWAY_DISPATCHER, GATEWAY_*_VENDOR and the vendors' "
        "credentials (without them a vendor is emulated), GATEWAY_METRICS_PUBLIC.",
    ),
    "worker": (
        "the dispatcher alone, no HTTP",
        "Send queued messages, apply delivery receipts, report to Braze and purge expired messages, without "
        "serving HTTP: beside `serve` with GATEWAY_DISPATCHER=off, on PostgreSQL.",
        f"{_STORE_ENV}, GATEWAY_*_VENDOR and the vendors' credentials, GATEWAY_*_RATE, GATEWAY_*_CONCURRENCY, "
        "GATEWAY_RETRY_BUDGET, GATEWAY_BRAZE_REST_URL, GATEWAY_BRAZE_API_KEY, GATEWAY_RETENTION_DAYS.",
    ),
    "migrate": (
        "apply pending database migrations",
        "Apply the schema migrations the database lacks and say which (serve and worker do it at start too).",
        f"{_STORE_ENV}.",
    ),
    "replay": (
        "send finished messages again",
        "Queue finished messages again, as the console's replay does (same refusals), each written to the audit "
        "log as staff `cli`; a running dispatcher sends them.",
        f"{_STORE_ENV}.",
    ),
    "purge": (
        "delete messages and refusals older than the retention",
        "Delete the messages and refused requests older than the retention, with everything attached, and say "
        "how many (the dispatcher also does it once a day).",
        f"{_STORE_ENV}, GATEWAY_RETENTION_DAYS (default 30).",
    ),
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gateway",
        description="Braze webhook gateway for Korean messaging vendors (KakaoTalk brand message, LMS, email).",
        epilog=f"Configured by GATEWAY_* environment variables. {_SEE}",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    commands = parser.add_subparsers(required=True, metavar="command")
    runs = {"serve": _serve, "worker": _worker, "migrate": _migrate, "replay": _replay, "purge": _purge}
    made = {}
    for name, (short, description, variables) in _COMMANDS.items():
        made[name] = commands.add_parser(
            name, help=short, description=description, epilog=f"Environment: {variables} {_SEE}"
        )
        made[name].set_defaults(run=runs[name])
    made["serve"].add_argument("--host", help="listen address (default GATEWAY_HOST, else 127.0.0.1)")
    made["serve"].add_argument("--port", type=int, help="listen port (default GATEWAY_PORT, else 8000)")
    made["serve"].add_argument("--workers", type=int, default=1, help="worker processes (PostgreSQL only)")
    made["replay"].add_argument("message_ids", nargs="+", metavar="MESSAGE_ID")
    made["purge"].add_argument("--days", type=int, help="keep this many days instead of GATEWAY_RETENTION_DAYS")
    return parser


def _first_line(exc: Exception) -> str:
    """A driver's error as one line (libpq's run over several)."""
    return " ".join(str(exc).split())


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from gateway.store import migrate

    if args.workers > 1 and settings.database_url.startswith("sqlite"):
        print("gateway: configuration error: --workers > 1 needs PostgreSQL (GATEWAY_DATABASE_URL)", file=sys.stderr)
        return 2
    # Without it each worker makes its own random console key: a session or CSRF token from one is refused by
    # the others, so sign-in and forms would fail at random.
    if args.workers > 1 and settings.session_secret is None:
        print("gateway: configuration error: --workers > 1 needs GATEWAY_SESSION_SECRET", file=sys.stderr)
        return 2
    # Here, once, rather than in each worker's start: a database that cannot be reached is one line, not a
    # failed lifespan per worker process.
    asyncio.run(migrate(settings.database_url))
    uvicorn.run(
        "gateway.app:serve_app",
        factory=True,
        host=args.host or settings.host,
        port=args.port or settings.port,
        workers=args.workers,
        log_config=None,
        access_log=False,
        server_header=False,
    )
    return 0


def _worker(settings: Settings, _: argparse.Namespace) -> int:
    from gateway.app import open_runtime

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with open_runtime(settings, role="worker") as (_, _, dispatcher):
            await dispatcher.start()
            await stop.wait()
            _log.info("worker stopping")

    asyncio.run(run())
    return 0


def _migrate(settings: Settings, _: argparse.Namespace) -> int:
    from gateway.store import migrate

    applied = asyncio.run(migrate(settings.database_url))
    print(f"applied {len(applied)} migration(s)" + (f": {', '.join(applied)}" if applied else ""))
    return 0


def _replay(settings: Settings, args: argparse.Namespace) -> int:
    """Replay each message as the console and the API do (same refusals, audited), as the actor ``cli``."""
    from gateway.api.support import replay_message
    from gateway.errors import MessageNotFound, ReplayRefused

    async def replay(store: Store) -> bool:
        done = True
        for message_id in args.message_ids:
            try:
                replayed = await replay_message(store, _CLI, message_id, now=time.time())
            except (MessageNotFound, ReplayRefused) as refusal:
                print(f"{message_id}: not replayed: {refusal}", file=sys.stderr)
                done = False
            else:
                print(f"{message_id}: queued" + (f" as its fallback LMS {replayed}" if replayed != message_id else ""))
        return done

    return 0 if _on_store(settings, replay) else 1


def _purge(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.retention import RetentionPurge

    days = settings.retention_days if args.days is None else args.days
    if days < 1:
        print("gateway: --days must be at least 1", file=sys.stderr)
        return 2

    async def purge(store: Store) -> int:
        return await RetentionPurge(store, days).run_to_end()

    print(f"purged {_on_store(settings, purge)} message(s) and refused request(s) older than {days} days")
    return 0


def _on_store(settings: Settings, work: Callable[[Store], Awaitable[_T]]) -> _T:
    """Run ``work`` on the configured store, opened (and migrated) for it and closed after."""
    from gateway.store import open_store

    async def run() -> _T:
        store = open_store(settings.database_url)
        await store.open()
        try:
            return await work(store)
        finally:
            await store.close()

    return asyncio.run(run())


if __name__ == "__main__":
    sys.exit(main())
