"""The dashboard's snapshots, computed once per tick per scope in this API process and shared by
every viewer of that scope: a scope's task runs while it has viewers and stops after the last
one leaves. A viewer that joins gets the scope's latest snapshot at once (a new scope computes
one at once), then each new one."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from uuid import UUID

log = logging.getLogger("chronicle.dashboard")
Compute = Callable[[UUID | None], Awaitable[bytes]]


class Board:
    """One scope's latest snapshot, its viewers, and the event its next snapshot sets."""

    __slots__ = ("latest", "next", "task", "ticks", "viewers")

    def __init__(self) -> None:
        self.latest: bytes | None = None
        self.ticks = 0
        self.viewers = 0
        self.next = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    def publish(self, snapshot: bytes) -> None:
        self.latest, self.ticks = snapshot, self.ticks + 1
        done, self.next = self.next, asyncio.Event()
        done.set()


class Boards:
    def __init__(self, compute: Compute, interval_s: float) -> None:
        self.compute, self.interval_s = compute, interval_s
        self.boards: dict[UUID | None, Board] = {}
        self.computed = 0  # snapshots computed, every scope's (the tests count them)

    async def watch(self, scope: UUID | None) -> AsyncIterator[bytes]:
        """The scope's snapshots, from its latest on, until the caller stops iterating."""
        board = self.boards.setdefault(scope, Board())
        board.viewers += 1
        if board.task is None:
            board.task = asyncio.create_task(self._run(scope, board))
        try:
            seen = 0
            while True:
                if board.latest is not None and board.ticks > seen:
                    seen = board.ticks
                    yield board.latest
                else:
                    await board.next.wait()
        finally:
            board.viewers -= 1

    async def _run(self, scope: UUID | None, board: Board) -> None:
        while board.viewers > 0:
            try:
                board.publish(await self.compute(scope))
                self.computed += 1
            except Exception as exc:  # the viewers keep the last snapshot; the next tick retries
                log.warning("could not compute the dashboard snapshot: %s", exc)
            await asyncio.sleep(self.interval_s)
        # No await since the check above: a viewer arriving from here on finds no board.
        if self.boards.get(scope) is board:
            del self.boards[scope]

    async def close(self) -> None:
        tasks = [b.task for b in self.boards.values() if b.task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.boards.clear()
