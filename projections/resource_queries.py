"""Queries on the resources read model, for the API: one resource by id, and a page of an
organization's resources of one type (by status) in creation order."""

from __future__ import annotations

from uuid import UUID

from psycopg import AsyncConnection

from projections import paging
from projections.resources import TABLE

COLUMNS = ("id, organization_id, type, type_version, external_key, status, data, tags, labels,"
           " annotations, relationships, checksum, size, created_by, updated_by, deleted_at,"
           " version, created_position, created_at, updated_at")
STATUSES = ("active", "archived", "deleted")
ANY = "any"


# One resource by (id, organization, type), whatever its status (a deleted one stays readable
# by id): one statement, for api/auth/tenancy.read_one's single round trip.
GET = (f"SELECT {COLUMNS} FROM {TABLE}"
       " WHERE id = %s AND organization_id = %s AND type = %s")


async def page(conn: AsyncConnection, organization_id: UUID, resource_type: str, status: str, *,
               limit: int, after: int | None = None, before: int | None = None) -> paging.Page:
    """The type's resources with ``status`` (``any``: every status), counted."""
    where, params = "organization_id = %s AND type = %s", [organization_id, resource_type]
    if status != ANY:
        where += " AND status = %s"
        params.append(status)
    return await paging.page(conn, TABLE, COLUMNS, where, params, limit=limit, after=after,
                             before=before, count=True)
