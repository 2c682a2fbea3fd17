"""Queries on the bulk_operations read model: one operation (the API), and the operations
still to apply (the bulk worker)."""

from __future__ import annotations

from uuid import UUID

import psycopg

COLUMNS = ("id, organization_id, status, total_count, success_count, failure_count, results,"
           " created_by, started_at, completed_at, version, created_at, updated_at")
GET = f"SELECT {COLUMNS} FROM bulk_operations WHERE id = %s AND organization_id = %s"
OPEN = ("SELECT id FROM bulk_operations WHERE status IN ('pending', 'processing')"
        " ORDER BY created_position LIMIT %s")


def open_operations(conn: psycopg.Connection, limit: int = 100) -> list[UUID]:
    """The operations submitted and not finished, oldest first (as the read model has them:
    the worker folds each from the event store before applying anything)."""
    return [row[0] for row in conn.execute(OPEN, (limit,)).fetchall()]
