"""Queries on the organizations read model, for the API."""

from __future__ import annotations

import base64
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.rows import dict_row

COLUMNS = ("id, name, slug, plan, settings, rate_limit, status, version, position,"
           " created_position, created_at, updated_at, deleted_at")


def encode_cursor(created_position: int) -> str:
    return base64.urlsafe_b64encode(f"o:{created_position}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int | None:
    """The position a cursor points after, or None if it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, value = raw.split(":", 1)
        return int(value) if kind == "o" and int(value) >= 0 else None
    except (ValueError, UnicodeDecodeError):
        return None


GET = f"SELECT {COLUMNS} FROM organizations WHERE id = %s"



async def page(conn: AsyncConnection, *, after: int | None, before: int | None, limit: int,
               statuses: list[str], only: UUID | None = None,
               ) -> tuple[list[dict[str, Any]], bool, int]:
    """One page in creation order, forward from ``after`` or backward from ``before``.

    Returns the rows (in creation order), whether more exist in the paging direction, and
    the total count of matching organizations.
    """
    cur = conn.cursor(row_factory=dict_row)
    where = "status = ANY(%s)"
    params: list[object] = [statuses]
    if only is not None:  # a tenant's caller sees its own organization only
        where += " AND id = %s"
        params.append(only)
    if after is not None:
        where += " AND created_position > %s"
        params.append(after)
    if before is not None:
        where += " AND created_position < %s"
        params.append(before)
    order = "DESC" if before is not None else "ASC"
    await cur.execute(
        f"SELECT {COLUMNS} FROM organizations WHERE {where}"
        f" ORDER BY created_position {order} LIMIT %s", (*params, limit + 1))
    rows = await cur.fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    if before is not None:
        rows.reverse()
    await cur.execute("SELECT count(*) AS n FROM organizations WHERE status = ANY(%s)"
                      + (" AND id = %s" if only is not None else ""),
                      (statuses, only) if only is not None else (statuses,))
    total = await cur.fetchone()
    return rows, more, int(total["n"]) if total else 0
