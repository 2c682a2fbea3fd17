"""Projection progress: the position each projection has caught up to, its lag, and waiting."""

from __future__ import annotations

import asyncio
import time
from typing import Any, NamedTuple

import psycopg
from psycopg_pool import AsyncConnectionPool

from infra.eventstore import EVENTS_TABLE
from projections.webhook_fanout import NAME as WEBHOOK_FANOUT

CAUGHT_UP = (
    "SELECT coalesce(min(caught_up_position), 0) FROM projection_partitions WHERE projection = %s"
)
ALL_STATUS = (
    "SELECT projection, min(caught_up_position), sum(next_offset)"
    " FROM projection_partitions GROUP BY projection ORDER BY projection"
)


def caught_up(conn: psycopg.Connection, projection: str) -> int:
    row = conn.execute(CAUGHT_UP, (projection,)).fetchone()
    return int(row[0]) if row else 0


HEAD = f"SELECT coalesce(max(notification_id), 0) FROM {EVENTS_TABLE}"


def head(conn: psycopg.Connection) -> int:
    """The store's last position (the notification id of the newest event)."""
    row = conn.execute(HEAD).fetchone()
    return int(row[0]) if row else 0


def statuses(conn: psycopg.Connection) -> list[dict[str, int | str]]:
    """Per projection: checkpoint (caught-up position), lag against the store head, offsets."""
    return _statuses(head(conn), conn.execute(ALL_STATUS).fetchall())


async def statuses_async(pool: AsyncConnectionPool) -> tuple[int, list[dict[str, int | str]]]:
    """The store head, and ``statuses`` against it."""
    async with pool.connection() as conn:
        cur = await conn.execute(HEAD)
        row = await cur.fetchone()
        top = int(row[0]) if row else 0
        cur = await conn.execute(ALL_STATUS)
        return top, _statuses(top, await cur.fetchall())


def _statuses(top: int, rows: list[tuple[Any, ...]]) -> list[dict[str, int | str]]:
    return [{"projection": name, "checkpoint": int(pos), "lag": max(top - int(pos), 0),
             "consumed": int(consumed)} for name, pos, consumed in rows]


async def wait_for(pool: AsyncConnectionPool, projection: str, position: int,
                   timeout_s: float) -> bool:
    """Wait until ``projection`` has applied every event up to ``position``; False on timeout."""
    deadline = time.monotonic() + timeout_s
    delay = 0.005
    while True:
        async with pool.connection() as conn:
            cur = await conn.execute(CAUGHT_UP, (projection,))
            row = await cur.fetchone()
        if row and int(row[0]) >= position:
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.05)


# Per stage (the relay, then each projection): its position, the store head, and how long the
# first event after its position has been waiting (NULL when nothing is waiting). The wait is
# measured from the event's occurred_at, so a stage that was idle for hours is not "stalled" the
# moment a new event arrives.
# The webhook fan-out is an outbound side path with a process and a health of its own: the
# API's readiness does not fail when that process is away.
PIPELINE = f"""
WITH stage AS (
    SELECT 'relay' AS name,
           coalesce((SELECT position FROM relay_checkpoint WHERE name = 'kafka'), 0) AS position
    UNION ALL
    SELECT projection, min(caught_up_position) FROM projection_partitions
     WHERE projection <> '{WEBHOOK_FANOUT}' GROUP BY projection
)
SELECT stage.name, stage.position, top.head,
       (SELECT count(*) FROM projection_dead_letters d WHERE d.projection = stage.name) AS parked,
       (SELECT extract(epoch FROM now() - (convert_from(e.state, 'UTF8')::jsonb
                                            ->> 'occurred_at')::timestamptz)
          FROM {EVENTS_TABLE} e WHERE e.notification_id > stage.position
         ORDER BY e.notification_id LIMIT 1) AS waiting
  FROM stage, (SELECT coalesce(max(notification_id), 0) AS head FROM {EVENTS_TABLE}) AS top
"""


class Stage(NamedTuple):
    name: str
    position: int
    head: int
    waiting_s: float  # how long the oldest event this stage has not passed has waited; 0: none
    parked: int = 0  # events set aside in projection_dead_letters

    @property
    def lag(self) -> int:
        return max(self.head - self.position, 0)


def _stages(rows: list[tuple[Any, ...]]) -> list[Stage]:
    return [Stage(str(name), int(pos), int(top), max(float(waiting or 0), 0.0), int(parked))
            for name, pos, top, parked, waiting in rows]


def pipeline(conn: psycopg.Connection) -> list[Stage]:
    return _stages(conn.execute(PIPELINE).fetchall())


async def pipeline_async(pool: AsyncConnectionPool) -> list[Stage]:
    async with pool.connection() as conn:
        cur = await conn.execute(PIPELINE)
        return _stages(await cur.fetchall())
