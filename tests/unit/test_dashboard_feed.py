"""The dashboard's shared ticks (api/dashboard/feed.py): one computation per tick per scope
whatever the number of viewers, the first snapshot at once, and no work once nobody watches."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator
from uuid import UUID, uuid4

from api.dashboard.feed import Boards

TICK_S = 0.05


def counting() -> tuple[Counter[UUID | None], Boards]:
    computed: Counter[UUID | None] = Counter()

    async def compute(scope: UUID | None) -> bytes:
        computed[scope] += 1
        return b"%d" % computed[scope]

    return computed, Boards(compute, TICK_S)


async def take(source: AsyncIterator[bytes], count: int) -> list[bytes]:
    found = []
    async with contextlib.aclosing(source):  # type: ignore[type-var]
        async for snapshot in source:
            found.append(snapshot)
            if len(found) == count:
                return found
    return found


def test_viewers_of_one_scope_share_each_ticks_computation() -> None:
    async def scenario() -> tuple[list[list[bytes]], int]:
        computed, boards = counting()
        org = uuid4()
        seen = await asyncio.gather(*(take(boards.watch(org), 3) for _ in range(5)))
        return list(seen), computed[org]

    seen, computations = asyncio.run(scenario())
    assert all(s == [b"1", b"2", b"3"] for s in seen)
    assert computations <= 4  # three ticks (and perhaps the next one begun), not fifteen


def test_scopes_are_computed_apart_and_the_first_snapshot_comes_at_once() -> None:
    async def scenario() -> tuple[float, Counter[UUID | None]]:
        computed, boards = counting()
        loop = asyncio.get_running_loop()
        started = loop.time()
        await take(boards.watch(None), 1)
        first = loop.time() - started
        await take(boards.watch(uuid4()), 1)
        await boards.close()
        return first, computed

    first, computed = asyncio.run(scenario())
    assert first < TICK_S
    assert len(computed) == 2


def test_a_scope_stops_computing_once_its_last_viewer_leaves() -> None:
    async def scenario() -> tuple[int, int, bool]:
        computed, boards = counting()
        org = uuid4()
        await take(boards.watch(org), 2)
        await asyncio.sleep(TICK_S * 3)
        after_leaving = computed[org]
        await asyncio.sleep(TICK_S * 4)
        return after_leaving, computed[org], org in boards.boards

    after_leaving, later, kept = asyncio.run(scenario())
    assert later == after_leaving
    assert not kept


def test_a_failed_computation_keeps_the_viewers_and_the_next_tick_serves_them() -> None:
    calls = []

    async def flaky(scope: UUID | None) -> bytes:
        calls.append(scope)
        if len(calls) == 1:
            raise ConnectionError("ClickHouse went away")
        return b"fine"

    async def scenario() -> list[bytes]:
        boards = Boards(flaky, TICK_S)
        return await asyncio.wait_for(take(boards.watch(None), 1), timeout=5)

    assert asyncio.run(scenario()) == [b"fine"]
