"""Queries on the resources read model, for the API: one resource by id, and a page of an
organization's resources of one type (by status) in creation order."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg import AsyncConnection

from projections import paging
from projections.resources import TABLE

COLUMNS = ("id, organization_id, type, type_version, external_key, status, data, tags, labels,"
           " annotations, relationships, checksum, size, created_by, updated_by, deleted_at,"
           " version, created_position, created_at, updated_at")
STATUSES = ("active", "archived", "deleted")
ANY = "any"


async def one(conn: AsyncConnection, organization_id: UUID, resource_type: str,
              resource_id: UUID) -> dict[str, Any] | None:
    """The resource whatever its status (a deleted one stays readable by id)."""
    rows = (await paging.page(conn, TABLE, COLUMNS,
                              "id = %s AND organization_id = %s AND type = %s",
                              (resource_id, organization_id, resource_type), limit=1)).rows
    return rows[0] if rows else None


async def page(conn: AsyncConnection, organization_id: UUID, resource_type: str, status: str, *,
               limit: int, after: int | None = None, before: int | None = None) -> paging.Page:
    """The type's resources with ``status`` (``any``: every status), counted."""
    where, params = "organization_id = %s AND type = %s", [organization_id, resource_type]
    if status != ANY:
        where += " AND status = %s"
        params.append(status)
    return await paging.page(conn, TABLE, COLUMNS, where, params, limit=limit, after=after,
                             before=before, count=True)
