"""Queries on the bulk_operations read model: one operation and a page of them (the API), and
for the bulk worker the operations still to apply and the wait for a read model."""

from __future__ import annotations

import time
from uuid import UUID

import psycopg
from psycopg import AsyncConnection

from projections import paging
from projections.status import CAUGHT_UP

COLUMNS = ("id, organization_id, status, total_count, success_count, failure_count,"
           " created_by, started_at, completed_at, version, created_at, updated_at")
# The results from index %s, at most %s of them: they are appended in index order, so an
# element's ordinality is its index + 1.
GET = (f"SELECT {COLUMNS}, (SELECT coalesce(jsonb_agg(r.e ORDER BY r.i), '[]'::jsonb)"
       " FROM jsonb_array_elements(results) WITH ORDINALITY AS r(e, i)"
       " WHERE r.i > %s AND r.i <= %s + %s) AS results"
       " FROM bulk_operations WHERE id = %s AND organization_id = %s")
OPEN = ("SELECT id FROM bulk_operations WHERE status IN ('pending', 'processing')"
        " ORDER BY created_position LIMIT %s")


async def page(conn: AsyncConnection, organization_id: UUID, *, status: str | None,
               created_by: str | None, limit: int, after: int | None = None) -> paging.Page:
    """The organization's operations in submission order (without their results), of one
    status and one submitter if asked, every match counted."""
    where, params = ["organization_id = %s"], list[object]([organization_id])
    for column, value in (("status", status), ("created_by", created_by)):
        if value is not None:
            where.append(f"{column} = %s")
            params.append(value)
    return await paging.page(conn, "bulk_operations", f"{COLUMNS}, created_position",
                             " AND ".join(where), params,
                             limit=limit, after=after, count=True)


def open_operations(conn: psycopg.Connection, limit: int = 100) -> list[UUID]:
    """The operations submitted and not finished, oldest first (as the read model has them:
    the worker folds each from the event store before applying anything)."""
    return [row[0] for row in conn.execute(OPEN, (limit,)).fetchall()]


def caught_up(conn: psycopg.Connection, projection: str, position: int,
              timeout_s: float) -> bool:
    """Wait until ``projection`` has applied every event up to ``position``; False on
    timeout (the synchronous ``projections.status.wait_for``)."""
    deadline, delay = time.monotonic() + timeout_s, 0.005
    while True:
        row = conn.execute(CAUGHT_UP, (projection,)).fetchone()
        if row and int(row[0]) >= position:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(delay)
        delay = min(delay * 2, 0.05)
