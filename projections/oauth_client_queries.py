"""Queries on the oauth_clients read model, for the API.

A deleted client is gone, as a deleted role or a removed user is: not listed, not found.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg import AsyncConnection

from projections import paging
from projections.oauth_clients import TABLE

COLUMNS = ("id, organization_id, name, redirect_uris, scopes, grant_types, status, created_by,"
           " created_at, secret_rotated_at, version")
LIMIT = 500  # a list is not paged: an organization registers a few clients


async def listed(conn: AsyncConnection, organization_id: UUID | None) -> list[dict[str, Any]]:
    """The organization's clients (every client for the operator's None), in creation order."""
    where, params = ("organization_id = %s", (organization_id,)) if organization_id else ("true", ())
    return (await paging.page(conn, TABLE, COLUMNS, f"({where}) AND status <> 'deleted'",
                              params, limit=LIMIT)).rows


async def with_id(conn: AsyncConnection, client_id: UUID) -> list[dict[str, Any]]:
    return (await paging.page(conn, TABLE, COLUMNS, "id = %s AND status <> 'deleted'",
                              (client_id,), limit=1)).rows
