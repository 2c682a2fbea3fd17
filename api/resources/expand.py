"""``expand=relationships.<type>[.<type>…]``: related resources inlined into the resources a
read returns (``relationships[i].resource``), level by level, one query per level, each
related resource shown as its own type's grant lets the caller see it."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec
from litestar import Request
from psycopg import AsyncConnection
from psycopg.rows import dict_row

from api.auth.access import shaped
from api.resources.views import from_row
from projections.resource_queries import COLUMNS

RELATED = (f"SELECT {COLUMNS} FROM resources"
           " WHERE organization_id = %s AND id = ANY(%s::uuid[])")


async def expanded(conn: AsyncConnection, request: Request, organization_id: UUID,
                   views: list[Any], paths: tuple[str, ...]) -> list[Any]:
    """``views`` (the shaped resources) with every path of ``paths`` inlined."""
    if not paths:
        return views
    shown = [v if isinstance(v, dict) else msgspec.to_builtins(v) for v in views if v]
    for path in paths:
        await _inline(conn, request, organization_id, shown, path.split(".")[1:])
    return shown


async def _inline(conn: AsyncConnection, request: Request, organization_id: UUID,
                  items: list[dict[str, Any]], steps: list[str]) -> None:
    kind = steps[0]
    links = [r for item in items for r in item.get("relationships") or ()
             if isinstance(r, dict) and r.get("type") == kind]
    if not links:
        return
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(RELATED, (organization_id, sorted({str(r["id"]) for r in links})))
    related: dict[str, dict[str, Any]] = {}
    for row in await cur.fetchall():
        view = shaped(request, f"resources:{row['type']}", from_row(row))
        if view:
            related[str(row["id"])] = view if isinstance(view, dict) else (
                msgspec.to_builtins(view))
    for link in links:
        if (found := related.get(str(link["id"]))) is not None:
            link["resource"] = found
    if steps[1:]:
        await _inline(conn, request, organization_id, list(related.values()), steps[1:])
