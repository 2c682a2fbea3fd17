"""Queries on the api_keys read model, for the API (never the hashed secrets)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg import AsyncConnection

from projections import paging
from projections.api_keys import TABLE

COLUMNS = ("id, organization_id, name, environment, status, permissions, rate_limit,"
           " expires_at, previous_valid_until, created_by, created_at, version, require_signature,"
           " role")
LIMIT = 500  # a list is not paged: an organization holds a few keys, not thousands


async def listed(conn: AsyncConnection, organization_id: UUID | None) -> list[dict[str, Any]]:
    """The organization's keys (every key for the operator's None), in creation order."""
    where = ("organization_id = %s", (organization_id,)) if organization_id else ("true", ())
    return (await paging.page(conn, TABLE, COLUMNS, *where, limit=LIMIT)).rows


async def with_id(conn: AsyncConnection, key_id: UUID) -> list[dict[str, Any]]:
    return (await paging.page(conn, TABLE, COLUMNS, "id = %s", (key_id,), limit=1)).rows
