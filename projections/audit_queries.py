"""Queries on the audit trail, for the API: a filtered page in store order, and every matching
entry through a server-side cursor (an export streams in constant memory)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any, NamedTuple
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from projections import paging
from projections.audit import TABLE

COLUMNS = ("id, organization_id, stream_id, stream_type, event_type, version, created_position,"
           " created_at, actor_kind, actor_id, action, resource, resource_id, old_values,"
           " new_values, ip_address, user_agent, request_id, source")
EXPORT_BATCH = 500  # rows fetched from the server-side cursor at a time


class Filters(NamedTuple):
    """Every given filter must hold; None: not filtered. ``organization_id`` None: every
    organization (the operator's view)."""

    organization_id: UUID | None = None
    actor: str | None = None  # an actor's id (user, API key, OAuth client, operator)
    resource: str | None = None
    resource_id: str | None = None
    action: str | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive


def where(f: Filters) -> tuple[str, list[object]]:
    clauses: list[str] = []
    values: list[object] = []
    for column, value, test in (
            ("organization_id", f.organization_id, "="), ("actor_id", f.actor, "="),
            ("resource", f.resource, "="), ("resource_id", f.resource_id, "="),
            ("action", f.action, "="), ("created_at", f.since, ">="),
            ("created_at", f.until, "<")):
        if value is not None:
            clauses.append(f"{column} {test} %s")
            values.append(value)
    return " AND ".join(clauses) or "true", values


async def page(conn: AsyncConnection, filters: Filters, *, limit: int,
               after: int | None = None) -> paging.Page:
    """The matching entries in store order, every match counted."""
    clause, values = where(filters)
    return await paging.page(conn, TABLE, COLUMNS, clause, values, limit=limit, after=after,
                             count=True)


async def every(conn: AsyncConnection, filters: Filters) -> AsyncIterator[dict[str, Any]]:
    """Every matching entry in store order, read through a server-side cursor; ``conn`` must
    be in a transaction (the cursor lives as long as it)."""
    clause, values = where(filters)
    async with conn.cursor(name="audit_export", row_factory=dict_row) as cur:
        cur.itersize = EXPORT_BATCH
        await cur.execute(f"SELECT {COLUMNS} FROM {TABLE} WHERE {clause}"
                          " ORDER BY created_position", values)
        async for row in cur:
            yield row
