"""Queries on the roles read model, for the API: the live custom roles (a deleted one is gone)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg import AsyncConnection

from projections import paging
from projections.roles import TABLE

LIMIT = 500  # a list is not paged: an organization defines a few roles


async def listed(conn: AsyncConnection, organization_id: UUID | None) -> list[dict[str, Any]]:
    """The organization's roles (every role for the operator's None), in creation order."""
    where, params = ("organization_id = %s", (organization_id,)) if organization_id else ("true", ())
    return (await paging.page(conn, TABLE, "*", f"{where} AND status = 'active'", params,
                              limit=LIMIT)).rows


async def with_id(conn: AsyncConnection, role_id: UUID) -> list[dict[str, Any]]:
    return (await paging.page(conn, TABLE, "*", "id = %s AND status = 'active'", (role_id,),
                              limit=1)).rows
