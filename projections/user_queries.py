"""Queries on the users read model, for the API (a removed user is not found by id)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg import AsyncConnection

from projections import paging
from projections.users import TABLE

COLUMNS = ("id, organization_id, email, first_name, last_name, avatar, role, permissions,"
           " status, email_verified, two_factor_enabled, last_login_at, metadata, version,"
           " created_position, created_at, updated_at")


async def page(conn: AsyncConnection, *, statuses: list[str], organization_id: UUID | None,
               role: str | None, after: int | None, limit: int,
               ) -> tuple[list[dict[str, Any]], bool, int]:
    """One page in invitation order after ``after``: the rows, whether more follow, and how
    many users match in all."""
    where, params = ["status = ANY(%s)"], list[object]([statuses])
    for clause, value in (("organization_id = %s", organization_id), ("role = %s", role)):
        if value is not None:
            where.append(clause)
            params.append(value)
    found = await paging.page(conn, TABLE, COLUMNS, " AND ".join(where), params, limit=limit,
                              after=after, count=True)
    return found.rows, found.more, found.total or 0


async def with_id(conn: AsyncConnection, user_id: UUID) -> list[dict[str, Any]]:
    return (await paging.page(conn, TABLE, COLUMNS, "id = %s AND status <> 'removed'",
                              (user_id,), limit=1)).rows
