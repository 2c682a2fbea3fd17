"""Projection progress: the position each projection has caught up to, its lag, and waiting."""

from __future__ import annotations

import asyncio
import time

import psycopg
from psycopg_pool import AsyncConnectionPool

from infra.eventstore import EVENTS_TABLE

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


def head(conn: psycopg.Connection) -> int:
    """The store's last position (the notification id of the newest event)."""
    row = conn.execute(f"SELECT max(notification_id) FROM {EVENTS_TABLE}").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def statuses(conn: psycopg.Connection) -> list[dict[str, int | str]]:
    """Per projection: checkpoint (caught-up position), lag against the store head, offsets."""
    top = head(conn)
    return [
        {"projection": name, "checkpoint": int(pos), "lag": max(top - int(pos), 0),
         "consumed": int(consumed)}
        for name, pos, consumed in conn.execute(ALL_STATUS).fetchall()
    ]


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
