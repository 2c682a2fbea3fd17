"""Queries on the resource_types read model, for the API: a page of an organization's types,
and one type by name (its current schema, or an older type version's)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg import AsyncConnection

from projections import paging
from projections.resource_types import TABLE

COLUMNS = ("id, organization_id, name, description, indexed, schema, type_version, version,"
           " created_position, created_at, updated_at")


async def page(conn: AsyncConnection, organization_id: UUID, *, limit: int,
               after: int | None = None, before: int | None = None) -> paging.Page:
    """The organization's types in registration order, with every type counted."""
    return await paging.page(conn, TABLE, COLUMNS, "organization_id = %s", (organization_id,),
                             limit=limit, after=after, before=before, count=True)


async def named(conn: AsyncConnection, organization_id: UUID, name: str,
                type_version: int | None = None) -> list[dict[str, Any]]:
    """The type ``name`` with its current schema, or, given ``type_version``, with that
    version's (none if the type has no such version)."""
    columns = COLUMNS if type_version is None else f"{COLUMNS}, versions"
    rows = (await paging.page(conn, TABLE, columns, "organization_id = %s AND name = %s",
                              (organization_id, name), limit=1)).rows
    if type_version is None or not rows:
        return rows
    schema = rows[0].pop("versions").get(str(type_version))
    return [] if schema is None else [{**rows[0], "schema": schema, "type_version": type_version}]
