"""Row helpers shared by PostgreSQL projections."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg import Cursor, sql


def update_if_newer(cur: Cursor[Any], table: sql.Identifier, stream_id: UUID, version: int,
                    **columns: object) -> None:
    """Set ``columns`` on the stream's row only if ``version`` is newer than the row's:
    a redelivered or replayed event changes nothing."""
    columns["version"] = version
    assignments = sql.SQL(", ").join(
        sql.SQL("{} = %s").format(sql.Identifier(c)) for c in columns)
    cur.execute(sql.SQL("UPDATE {} SET {} WHERE id = %s AND version < %s").format(
        table, assignments), (*columns.values(), stream_id, version))
