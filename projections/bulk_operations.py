"""The bulk_operations read model in PostgreSQL: each operation's status, counts and per-item
results (appended chunk by chunk), what ``GET /v1/bulk-operations/{id}`` and the worker's
search for open operations read."""

from __future__ import annotations

import msgspec
import psycopg
from psycopg import sql

from domain.bulk_operation import decider as bulk
from domain.bulk_operation.events import (
    BulkOperationFinished,
    BulkOperationStarted,
    BulkOperationSubmitted,
    ChunkApplied,
)
from projections.base import Item
from projections.readmodel import ReadModel
from projections.table import Column, Index, Table

TABLE = "bulk_operations"

SPEC = Table(TABLE, tenant="organization_id", columns=(
    Column("id", "uuid"),
    Column("organization_id", "uuid"),
    Column("status", "text"),
    Column("total_count", "integer"),
    Column("success_count", "integer"),
    Column("failure_count", "integer"),
    Column("results", "jsonb"),  # [{index, success, resourceId?, version?, error?, message?}]
    Column("created_by", "text"),
    Column("started_at", "timestamptz", null=True),
    Column("completed_at", "timestamptz", null=True),
    Column("version", "bigint"),
    Column("created_position", "bigint"),
    Column("created_at", "timestamptz"),
    Column("updated_at", "timestamptz"),
), indexes=(Index("organization_idx", ("organization_id", "created_position")),
            Index("status_idx", ("status", "created_position"))))

_encode = msgspec.json.Encoder().encode


class BulkOperationsProjection(ReadModel):
    spec = SPEC
    stream_type = bulk.DECIDER.stream_type

    def match(self, cur: psycopg.Cursor, item: Item) -> None:
        e = item.envelope
        match e.event:
            case BulkOperationSubmitted() as s:
                self.insert(cur, item, organization_id=s.organization_id, status="pending",
                            total_count=s.total_count, success_count=0, failure_count=0,
                            results="[]", created_by=s.created_by)
            case BulkOperationStarted():
                self.update(cur, item, status="processing", started_at=e.occurred_at)
            case ChunkApplied() as c:
                self._appended(cur, item, c)
            case BulkOperationFinished() as f:
                self.update(cur, item, status=f.status, completed_at=e.occurred_at)
            case _:
                return

    def _appended(self, cur: psycopg.Cursor, item: Item, chunk: ChunkApplied) -> None:
        """The chunk's results after the row's: guarded by the version like every update,
        so a redelivered chunk is not appended twice."""
        ok = sum(1 for r in chunk.results if r.success)
        e = item.envelope
        cur.execute(sql.SQL(
            "UPDATE {} SET results = results || %s::jsonb, success_count = success_count + %s,"
            " failure_count = failure_count + %s, version = %s, updated_at = %s"
            " WHERE id = %s AND version < %s").format(self.table),
            (_encode(chunk.results).decode(), ok, len(chunk.results) - ok, e.version,
             e.occurred_at, e.stream_id, e.version))
