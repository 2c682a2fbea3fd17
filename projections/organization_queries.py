"""Queries on the organizations read model, for the API."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg import AsyncConnection

from projections import paging
from projections.organizations import TABLE

COLUMNS = ("id, name, slug, plan, settings, rate_limit, quota_policy, status, version, position,"
           " created_position, created_at, updated_at, deleted_at")

GET = f"SELECT {COLUMNS} FROM {TABLE} WHERE id = %s"


async def page(conn: AsyncConnection, *, after: int | None, before: int | None, limit: int,
               statuses: list[str], only: UUID | None = None,
               ) -> tuple[list[dict[str, Any]], bool, int]:
    """One page in creation order, forward from ``after`` or backward from ``before``.

    Returns the rows (in creation order), whether more exist in the paging direction, and
    the total count of matching organizations.
    """
    where, params = "status = ANY(%s)", list[object]([statuses])
    if only is not None:  # a tenant's caller sees its own organization only
        where += " AND id = %s"
        params.append(only)
    found = await paging.page(conn, TABLE, COLUMNS, where, params, limit=limit, after=after,
                              before=before, count=True)
    return found.rows, found.more, found.total or 0
