"""Keyset paging in creation order, the one way every list reads a read model: a cursor is
the ``created_position`` a page ends at; a page goes forward from ``after`` or backward from
``before``, and may count every row that matches."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, NamedTuple

from psycopg import AsyncConnection
from psycopg.rows import dict_row


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


# A read on one connection (a route opens it behind the tenant wall): the rows it found.
Query = Callable[[AsyncConnection], Awaitable[list[dict[str, Any]]]]


class Page(NamedTuple):
    rows: list[dict[str, Any]]  # in creation order, whichever way the page went
    more: bool  # rows exist past this page, in its direction
    total: int | None  # every row the filter matches (without the cursor), if counted


async def page(conn: AsyncConnection, table: str, columns: str, where: str = "true",
               params: Sequence[object] = (), *, limit: int, after: int | None = None,
               before: int | None = None, count: bool = False) -> Page:
    """Up to ``limit`` rows of ``table`` matching ``where`` (SQL with %s for ``params``)."""
    cur = conn.cursor(row_factory=dict_row)
    clauses, values = [f"({where})"], list(params)
    if after is not None:
        clauses.append("created_position > %s")
        values.append(after)
    if before is not None:
        clauses.append("created_position < %s")
        values.append(before)
    order = "DESC" if before is not None else "ASC"
    await cur.execute(f"SELECT {columns} FROM {table} WHERE {' AND '.join(clauses)}"
                      f" ORDER BY created_position {order} LIMIT %s", (*values, limit + 1))
    rows = await cur.fetchall()
    more, rows = len(rows) > limit, rows[:limit]
    if before is not None:
        rows.reverse()
    total = None
    if count:
        await cur.execute(f"SELECT count(*) AS n FROM {table} WHERE {where}", params)
        found = await cur.fetchone()
        total = int(found["n"]) if found else 0
    return Page(rows, more, total)
