"""Queries on the resources read model, for the API: one resource by id, a page of a type's
resources as a query asks (filters, order, search, keyset cursor), and the same query's every
row as a stream of batches for the export."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import psycopg
from psycopg import AsyncConnection
from psycopg.rows import dict_row

from domain.limits import MAX_CASCADE
from projections import paging
from projections.resource_query import Query, count_sql, page_sql
from projections.resources import TABLE

COLUMNS = ("id, organization_id, type, type_version, external_key, status, data, tags, labels,"
           " annotations, relationships, checksum, size, created_by, updated_by, deleted_at,"
           " version, created_position, created_at, updated_at")
EXPORT_BATCH = 500  # rows fetched from the server-side cursor at a time
# Who depends on a resource, transitively: the resources not deleted holding a `dependency`
# on it (relationships_idx), then on those, level by level. UNION drops a row met again, so a
# cycle ends the walk; the LIMIT stops it as soon as there are too many (a recursive query
# yields its rows as it finds them).
DEPENDENTS = ("WITH RECURSIVE walk(id) AS (SELECT %(id)s::uuid UNION"
              " SELECT r.id FROM walk JOIN resources r ON r.organization_id = %(org)s"
              " AND r.status <> 'deleted' AND r.relationships @> jsonb_build_array("
              "jsonb_build_object('type', 'dependency', 'id', walk.id::text)))"
              " SELECT id FROM walk WHERE id <> %(id)s LIMIT %(limit)s")


# One resource by (id, organization, type), whatever its status (a deleted one stays readable
# by id): one statement, for api/auth/tenancy.read_one's single round trip.
GET = (f"SELECT {COLUMNS} FROM {TABLE}"
       " WHERE id = %s AND organization_id = %s AND type = %s")


async def page(conn: AsyncConnection, organization_id: UUID, resource_type: str,
               query: Query) -> paging.Page:
    """One page of the query's rows, in its order; ``total`` when the query is counted, or
    known for free (a first page that holds every match). The statement's text varies with
    the query, so it is never prepared server-side."""
    cur = conn.cursor(row_factory=dict_row)
    text, params = page_sql(query, organization_id, resource_type)
    await cur.execute(text, params, prepare=False)
    rows = await cur.fetchall()
    more, rows = len(rows) > query.limit, rows[:query.limit]
    if query.backward:
        rows.reverse()
    if query.cursor is None and not more:
        return paging.Page(rows, more, len(rows))
    if not query.counted:
        return paging.Page(rows, more, None)
    text, params = count_sql(query, organization_id, resource_type)
    await cur.execute(text, params, prepare=False)
    found = await cur.fetchone()
    return paging.Page(rows, more, int(found["n"]) if found else 0)


async def every(conn: AsyncConnection, organization_id: UUID, resource_type: str,
                query: Query) -> AsyncIterator[list[dict[str, Any]]]:
    """Every row the query matches (its cursor and limit ignored), in batches, through one
    server-side cursor: one statement, so one snapshot, and constant memory for any size.
    Runs inside the caller's transaction (the tenant wall opens one)."""
    text, params = page_sql(Query(filters=query.filters, keys=query.keys, q=query.q),
                            organization_id, resource_type, limit=2**62, window=None)
    async with conn.cursor(name="resources_export", row_factory=dict_row) as cur:
        await cur.execute(text, params)
        while batch := await cur.fetchmany(EXPORT_BATCH):
            yield batch


def _walk(organization_id: UUID, resource_id: UUID) -> dict[str, object]:
    return {"org": organization_id, "id": resource_id, "limit": MAX_CASCADE + 1}


async def dependents(conn: AsyncConnection, organization_id: UUID,
                     resource_id: UUID) -> list[UUID]:
    """The resources not deleted that depend on ``resource_id`` (a ``dependency``
    relationship to it), and those that depend on them: at most MAX_CASCADE + 1, so that a
    caller can tell there are too many (the routes)."""
    cur = await conn.execute(DEPENDENTS, _walk(organization_id, resource_id))
    return [row[0] for row in await cur.fetchall()]


def dependents_now(conn: psycopg.Connection, organization_id: UUID,
                   resource_id: UUID) -> list[UUID]:
    """``dependents`` on a synchronous connection (the bulk worker's)."""
    return [row[0] for row in conn.execute(DEPENDENTS, _walk(organization_id, resource_id))]
