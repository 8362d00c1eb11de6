"""The SQLite backend: the embedded default (docs/ARCHITECTURE.md, "The store").

WAL with ``synchronous=FULL`` makes every commit durable. One writer thread owns the write connection and
commits in groups: operations that arrive while a commit runs are queued and share the next transaction, so a
burst of ingests costs one fsync rather than one each. Reads run on a second thread with their own connection.
The asyncio loop never touches the database.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from gateway.models import Attempt, MessageDetail, NewMessage, Status, StoredMessage
from gateway.store import sqlite_reads, sqlite_writes
from gateway.store.base import AddResult, AttemptEntry, MessageFilter, Page, Report, StoreUnavailable, Transition
from gateway.store.group import AddOp, GroupCommit
from gateway.store.images import SqliteImages
from gateway.store.migrator import migrate_sqlite
from gateway.store.refusals import SqliteRefusals
from gateway.store.sqlite_admin import SqliteAdmin
from gateway.store.sqlite_campaigns import SqliteCampaigns
from gateway.store.sqlite_receipts import SqliteReceipts
from gateway.store.sqlite_writes import WriteOp

__all__ = ("SqliteStore", "connect_sqlite", "migrate_sqlite_file")

_T = TypeVar("_T")
_BUSY_TIMEOUT_MS = 5000
_WAL_RETRY_PAUSE = 0.01


def connect_sqlite(path: str) -> sqlite3.Connection:
    """Open ``path`` in autocommit mode (transactions are explicit) with the store's pragmas."""
    conn = sqlite3.connect(path, isolation_level=None, cached_statements=256)
    conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
    _enter_wal(conn)
    # FULL: the WAL is fsync'd at every commit, so an acknowledged message survives a power cut.
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def _enter_wal(conn: sqlite3.Connection) -> None:
    """Switch to WAL, retrying while another connection holds the lock the switch needs.

    SQLite answers a journal-mode change that races another connection opening the same new file with
    "database is locked" at once, without calling the busy handler, so processes starting together would fail.
    """
    deadline = time.monotonic() + _BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(_WAL_RETRY_PAUSE)


def migrate_sqlite_file(path: str) -> list[str]:
    """Apply pending migrations to the database file at ``path`` (created if missing); return their ids."""
    conn, applied = _open_migrated(path)
    conn.close()
    return applied


def _open_migrated(path: str) -> tuple[sqlite3.Connection, list[str]]:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = connect_sqlite(path)
    try:
        return conn, migrate_sqlite(conn)
    except BaseException:
        conn.close()
        raise


class SqliteStore(SqliteAdmin, SqliteReceipts, SqliteRefusals, SqliteCampaigns, SqliteImages):
    """A :class:`~gateway.store.base.Store` on a SQLite file.

    Group commit makes :attr:`commit_count` far smaller than the number of writes under concurrency.
    """

    def __init__(self, path: str) -> None:
        self._path = path
        self._writer: ThreadPoolExecutor | None = None
        self._reader: ThreadPoolExecutor | None = None
        self._write_conn: sqlite3.Connection | None = None
        self._read_conn: sqlite3.Connection | None = None
        self._group: GroupCommit[AddOp | WriteOp] = GroupCommit(self._commit)

    @property
    def commit_count(self) -> int:
        """Write transactions committed so far."""
        return self._group.commits

    async def open(self) -> None:
        """Create the file (and its directory) if missing, apply migrations and connect the reader."""
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="store-writer")
        self._reader = ThreadPoolExecutor(1, thread_name_prefix="store-reader")
        self._write_conn, _ = await self._run(self._writer, _open_migrated, self._path)
        self._read_conn = await self._run(self._reader, connect_sqlite, self._path)

    async def close(self) -> None:
        """Wait for queued writes to commit, then close both connections."""
        await self._group.drain()
        for executor, conn in ((self._writer, self._write_conn), (self._reader, self._read_conn)):
            if executor is not None:
                if conn is not None:
                    await self._run(executor, conn.close)
                executor.shutdown(wait=False)
        self._writer = self._reader = self._write_conn = self._read_conn = None

    async def ping(self) -> bool:
        """Return whether the reader connection answers."""
        try:
            await self._read(lambda conn: conn.execute("SELECT 1").fetchone())
        except (StoreUnavailable, sqlite3.Error, RuntimeError):
            return False
        return True

    async def add(self, new: NewMessage, *, idempotency_window: float) -> AddResult:
        """See :meth:`Store.add`; returns after the commit that holds the row."""
        result: AddResult = await self._write(AddOp(new, idempotency_window))
        return result

    async def claim(
        self, *, now: float, limit: int, lease: float, exclude: frozenset[tuple[str, str]] = frozenset()
    ) -> list[StoredMessage]:
        """See :meth:`Store.claim`: the write transaction is the only one on the database, so it is atomic."""
        claimed: list[StoredMessage] = await self._write(
            functools.partial(sqlite_writes.claim, now=now, limit=limit, lease=lease, exclude=exclude)
        )
        return claimed

    async def renew_leases(self, message_ids: Sequence[str], *, until: float) -> int:
        """See :meth:`Store.renew_leases`."""
        renewed: int = await self._write(functools.partial(sqlite_writes.renew_leases, ids=message_ids, until=until))
        return renewed

    async def begin_send(self, message_id: str, *, now: float) -> None:
        """See :meth:`Store.begin_send`."""
        await self._write(functools.partial(sqlite_writes.begin_send, message_id=message_id, now=now))

    async def begin_send_many(self, message_ids: Sequence[str], *, now: float) -> None:
        """See :meth:`Store.begin_send_many`."""
        await self._write(functools.partial(sqlite_writes.begin_send_many, message_ids=message_ids, now=now))

    async def transition_many(self, transitions: Sequence[Transition], *, now: float) -> list[bool]:
        """See :meth:`Store.transition_many`: one operation of the group commit."""
        moved: list[bool] = await self._write(
            functools.partial(sqlite_writes.transition_many, transitions=transitions, now=now)
        )
        return moved

    async def record_attempts(self, entries: Sequence[AttemptEntry], *, now: float) -> None:
        """See :meth:`Store.record_attempts`."""
        await self._write(functools.partial(sqlite_writes.record_attempts, entries=entries, now=now))

    async def switch_vendor(self, message_id: str, vendor: str, reason: str, *, now: float) -> None:
        """See :meth:`Store.switch_vendor`."""
        switch = functools.partial(
            sqlite_writes.switch_vendor, message_id=message_id, vendor=vendor, reason=reason, now=now
        )
        await self._write(switch)

    async def transition(
        self,
        message_id: str,
        status: Status,
        reason: str,
        *,
        now: float,
        expect: frozenset[Status] | None = None,
        attempt: Attempt | None = None,
        next_attempt_at: float | None = None,
        vendor_message_id: str | None = None,
        vendor_request: dict[str, object] | None = None,
        report: Report | None = None,
    ) -> None:
        """See :meth:`Store.transition`."""
        await self._write(
            functools.partial(
                sqlite_writes.transition,
                message_id=message_id,
                status=status,
                reason=reason,
                now=now,
                expect=expect,
                attempt=attempt,
                next_attempt_at=next_attempt_at,
                vendor_message_id=vendor_message_id,
                vendor_request=vendor_request,
                report=report,
            )
        )

    async def record_attempt(
        self,
        message_id: str,
        attempt: Attempt,
        reason: str,
        *,
        now: float,
        vendor_request: dict[str, object] | None = None,
    ) -> None:
        """See :meth:`Store.record_attempt`."""
        await self._write(
            functools.partial(
                sqlite_writes.record_attempt,
                message_id=message_id,
                attempt=attempt,
                reason=reason,
                now=now,
                vendor_request=vendor_request,
            )
        )

    async def link_fallback(
        self,
        parent_id: str,
        child: NewMessage,
        reason: str,
        *,
        now: float,
        expect: frozenset[Status] | None = None,
        report: Report | None = None,
    ) -> None:
        """See :meth:`Store.link_fallback`."""
        link = functools.partial(
            sqlite_writes.link_fallback,
            parent_id=parent_id,
            child=child,
            reason=reason,
            now=now,
            expect=expect,
            report=report,
        )
        await self._write(link)

    async def last_attempts(self, message_ids: Sequence[str]) -> dict[str, Attempt]:
        """See :meth:`Store.last_attempts`."""
        return await self._read(functools.partial(sqlite_reads.last_attempts, message_ids=message_ids))

    async def get(self, message_id: str) -> MessageDetail | None:
        """See :meth:`Store.get`."""
        return await self._read(functools.partial(sqlite_reads.get, message_id=message_id))

    async def search(self, criteria: MessageFilter, *, limit: int, cursor: str | None = None) -> Page:
        """See :meth:`Store.search`."""
        return await self._read(functools.partial(sqlite_reads.search, criteria=criteria, limit=limit, cursor=cursor))

    async def count_by_status(self, statuses: frozenset[Status] | None = None) -> dict[Status, int]:
        """See :meth:`Store.count_by_status`."""
        return await self._read(functools.partial(sqlite_reads.count_by_status, statuses=statuses))

    async def _read(self, op: Callable[[sqlite3.Connection], _T]) -> _T:
        if self._reader is None or self._read_conn is None:
            raise StoreUnavailable("the SQLite store is not open")
        return await self._run(self._reader, op, self._read_conn)

    async def _write(self, op: AddOp | WriteOp) -> Any:
        """Queue ``op`` for the next group commit and wait for that commit."""
        if self._writer is None:
            raise StoreUnavailable("the SQLite store is not open")
        return await self._group.submit(op)

    async def _commit(self, ops: list[AddOp | WriteOp]) -> list[object]:
        """Run one batch on the writer thread, in one transaction."""
        if self._writer is None or self._write_conn is None:
            raise StoreUnavailable("the SQLite store is closed")
        return await self._run(self._writer, sqlite_writes.run_batch, self._write_conn, ops)

    @staticmethod
    async def _run(executor: ThreadPoolExecutor, fn: Callable[..., _T], *args: Any) -> _T:
        """Run ``fn`` on ``executor``'s thread; SQLite trouble becomes :class:`StoreUnavailable`."""
        try:
            return await asyncio.get_running_loop().run_in_executor(executor, fn, *args)
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"SQLite: {exc}") from exc
