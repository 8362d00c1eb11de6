"""Group commit: writes that arrive while a batch is being committed wait together and share the next commit.

One fsync then serves a whole burst of ingests instead of one each. A caller's awaitable resolves only after the
commit that holds its write.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

import msgspec

from gateway.models import NewMessage

__all__ = ("AddOp", "GroupCommit")

_Op = TypeVar("_Op")


class AddOp(msgspec.Struct, frozen=True):
    """A queued :meth:`Store.add`."""

    new: NewMessage
    window: float


class GroupCommit(Generic[_Op]):
    """Runs queued operations in batches, one batch at a time.

    Attributes:
        commits: Batches run so far.
    """

    def __init__(self, run: Callable[[list[_Op]], Awaitable[list[object]]]) -> None:
        """Start with an empty queue.

        Args:
            run: Commits a batch in one transaction and returns each operation's result, or the exception
                that operation must raise, in order. If ``run`` itself raises, every operation of the batch
                raises that.
        """
        self._run = run
        self._queue: list[tuple[_Op, asyncio.Future[Any]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self.commits = 0

    async def submit(self, op: _Op) -> Any:
        """Queue ``op`` and return its result once its batch is committed."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.append((op, future))
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush())
        return await future

    async def drain(self) -> None:
        """Wait until every queued operation is committed."""
        if self._flusher is not None:
            await asyncio.shield(self._flusher)

    async def _flush(self) -> None:
        try:
            while self._queue:
                batch, self._queue = self._queue, []
                try:
                    outcomes = await self._run([op for op, _ in batch])
                except Exception as exc:  # every waiting caller must hear of it, whatever it is
                    outcomes = [exc] * len(batch)
                else:
                    self.commits += 1
                for (_, future), outcome in zip(batch, outcomes, strict=True):
                    if future.done():  # the caller was cancelled; its write stands
                        continue
                    if isinstance(outcome, BaseException):
                        future.set_exception(outcome)
                    else:
                        future.set_result(outcome)
        finally:
            self._flusher = None
