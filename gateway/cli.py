"""The ``gateway`` console script: serve, worker, migrate, replay, purge."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from gateway.log import configure_logging
from gateway.settings import ConfigError, Settings, StaffToken, load_settings

if TYPE_CHECKING:
    from gateway.store.base import Store

__all__ = ("main",)

_T = TypeVar("_T")
#: Who the audit log and the timeline name for what the command line does; whoever runs it has the database.
_CLI = StaffToken(name="cli", role="operator", token="")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``gateway`` command; a configuration error is one line on stderr and exit status 2."""
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"gateway: configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    return int(args.run(settings, args) or 0)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gateway", description="Braze webhook gateway for Korean messaging vendors")
    commands = parser.add_subparsers(required=True, metavar="command")
    serve = commands.add_parser("serve", help="HTTP API with the dispatcher (unless GATEWAY_DISPATCHER=off)")
    serve.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (PostgreSQL only)")
    serve.set_defaults(run=_serve)
    commands.add_parser("worker", help="the dispatcher alone, no HTTP").set_defaults(run=_worker)
    commands.add_parser("migrate", help="apply pending database migrations").set_defaults(run=_migrate)
    replay = commands.add_parser("replay", help="send messages again")
    replay.add_argument("message_ids", nargs="+", metavar="MESSAGE_ID")
    replay.set_defaults(run=_replay)
    purge = commands.add_parser("purge", help="delete messages older than the retention (GATEWAY_RETENTION_DAYS)")
    purge.add_argument("--days", type=int, help="keep this many days instead of GATEWAY_RETENTION_DAYS")
    purge.set_defaults(run=_purge)
    return parser


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    if args.workers > 1 and settings.database_url.startswith("sqlite"):
        print("gateway: configuration error: --workers > 1 needs PostgreSQL (GATEWAY_DATABASE_URL)", file=sys.stderr)
        return 2
    # Without it each worker makes its own random console key: a session or CSRF token from one is refused by
    # the others, so sign-in and forms would fail at random.
    if args.workers > 1 and settings.session_secret is None:
        print("gateway: configuration error: --workers > 1 needs GATEWAY_SESSION_SECRET", file=sys.stderr)
        return 2
    uvicorn.run(
        "gateway.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
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
        async with open_runtime(settings) as (_, _, dispatcher):
            await dispatcher.start()
            await stop.wait()

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
                await replay_message(store, _CLI, message_id, now=time.time())
            except (MessageNotFound, ReplayRefused) as refusal:
                print(f"{message_id}: not replayed: {refusal}", file=sys.stderr)
                done = False
            else:
                print(f"{message_id}: queued")
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

    print(f"purged {_on_store(settings, purge)} message(s) older than {days} days")
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
