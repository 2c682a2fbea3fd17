"""Queries on the bulk_operations read model: one operation (the API), and the operations
still to apply (the bulk worker)."""

from __future__ import annotations

from uuid import UUID

import psycopg

COLUMNS = ("id, organization_id, status, total_count, success_count, failure_count,"
           " created_by, started_at, completed_at, version, created_at, updated_at")
# The results from index %s, at most %s of them: they are appended in index order, so an
# element's ordinality is its index + 1.
GET = (f"SELECT {COLUMNS}, (SELECT coalesce(jsonb_agg(r.e ORDER BY r.i), '[]'::jsonb)"
       " FROM jsonb_array_elements(results) WITH ORDINALITY AS r(e, i)"
       " WHERE r.i > %s AND r.i <= %s + %s) AS results"
       " FROM bulk_operations WHERE id = %s AND organization_id = %s")
OPEN = ("SELECT id FROM bulk_operations WHERE status IN ('pending', 'processing')"
        " ORDER BY created_position LIMIT %s")


def open_operations(conn: psycopg.Connection, limit: int = 100) -> list[UUID]:
    """The operations submitted and not finished, oldest first (as the read model has them:
    the worker folds each from the event store before applying anything)."""
    return [row[0] for row in conn.execute(OPEN, (limit,)).fetchall()]
