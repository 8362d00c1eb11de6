"""Group commit: operations queued during a commit share the next one, and none is ever left waiting."""

from __future__ import annotations

import asyncio

from gateway.store.group import GroupCommit


class _Database:
    """Commits batches when told to, and remembers each batch and how many ran at once."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.running = 0
        self.most_running = 0
        self.release = asyncio.Event()
        self.release.set()

    async def run(self, ops: list[int]) -> list[object]:
        self.batches.append(ops)
        self.running += 1
        self.most_running = max(self.most_running, self.running)
        await self.release.wait()
        self.running -= 1
        return [op * 10 if op >= 0 else ValueError(op) for op in ops]


async def test_an_operation_queued_as_the_last_batch_ends_is_committed() -> None:
    database = _Database()
    group: GroupCommit[int] = GroupCommit(database.run)
    # Each add is queued the moment the previous one's result arrives, as the flusher of its batch ends (awaited
    # directly: a task in between would give the flusher time to go).
    async with asyncio.timeout(1):
        for op in range(5):
            assert await group.submit(op) == op * 10
    assert database.batches == [[0], [1], [2], [3], [4]]


async def test_operations_queued_during_a_commit_share_the_next_one_and_fail_alone() -> None:
    database = _Database()
    group: GroupCommit[int] = GroupCommit(database.run)
    database.release.clear()
    first = asyncio.ensure_future(group.submit(1))
    await asyncio.sleep(0)
    rest = [asyncio.ensure_future(group.submit(op)) for op in (2, -3, 4)]
    await asyncio.sleep(0)
    database.release.set()
    results = await asyncio.gather(first, *rest, return_exceptions=True)
    assert [results[0], results[1], results[3]] == [10, 20, 40]
    assert isinstance(results[2], ValueError)
    assert database.batches == [[1], [2, -3, 4]]
    assert (database.most_running, group.commits) == (1, 2)


async def test_drain_waits_for_every_batch_in_flight() -> None:
    database = _Database()
    group: GroupCommit[int] = GroupCommit(database.run)
    database.release.clear()
    adds = [asyncio.ensure_future(group.submit(op)) for op in range(3)]
    await asyncio.sleep(0)
    drained = asyncio.ensure_future(group.drain())
    await asyncio.sleep(0)
    assert not drained.done()
    database.release.set()
    await asyncio.wait_for(drained, 1)
    assert all(add.done() for add in adds)
