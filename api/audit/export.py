"""The audit export: entries shaped from the read model's rows, streamed as NDJSON or as CSV
whose cells a spreadsheet cannot take for formulas."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from typing import Any

import msgspec
from litestar import Request

from api.audit.schemas import AuditActor, AuditEntryOut, AuditMetadata
from api.auth.access import principal_of
from api.auth.tenancy import WALL
from infra.container import Container
from projections import audit_queries as queries
from projections.rows import READER_ROLE, TENANT_SETTING

CSV_COLUMNS = ("id", "timestamp", "organizationId", "actorKind", "actorId", "action",
               "resource", "resourceId", "oldValues", "newValues", "ipAddress", "userAgent",
               "requestId", "source", "eventType", "streamId", "version", "position")
MEDIA = {"ndjson": "application/x-ndjson", "csv": "text/csv; charset=utf-8"}
# OWASP CSV injection: a spreadsheet evaluates a cell starting with one of these as a formula
# (tab and CR too: some strip them first and read what follows).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def entry(row: dict[str, Any]) -> AuditEntryOut:
    return AuditEntryOut(
        id=row["id"], organization_id=row["organization_id"],
        actor=AuditActor(kind=row["actor_kind"], id=row["actor_id"]), action=row["action"],
        resource=row["resource"], resource_id=row["resource_id"],
        old_values=row["old_values"], new_values=row["new_values"],
        metadata=AuditMetadata(ip_address=row["ip_address"], user_agent=row["user_agent"],
                               request_id=row["request_id"], source=row["source"]),
        timestamp=row["created_at"], event_type=row["event_type"], stream_id=row["stream_id"],
        version=row["version"], position=row["created_position"])

async def exported(container: Container, request: Request, wanted: queries.Filters,
                   fmt: str) -> AsyncIterator[bytes]:
    """The export's chunks: one transaction (behind the tenant wall for an organization's
    principal) holds the server-side cursor while the response streams."""
    principal = principal_of(request)
    async with container.pool.connection() as conn, conn.transaction():
        if principal is not None:
            await conn.execute(WALL, (READER_ROLE, TENANT_SETTING,
                                      str(principal.organization_id)))
        if fmt == "csv":
            yield _csv(CSV_COLUMNS)
        async for row in queries.every(conn, wanted):
            yield _csv(_cells(entry(row))) if fmt == "csv" else (
                msgspec.json.encode(entry(row)) + b"\n")


def _values(values: dict[str, Any] | None) -> str:
    return "" if values is None else json.dumps(values, separators=(",", ":"))


def _cells(e: AuditEntryOut) -> tuple[object, ...]:
    return (e.id, e.timestamp.isoformat(), e.organization_id, e.actor.kind, e.actor.id,
            e.action, e.resource, e.resource_id, _values(e.old_values), _values(e.new_values),
            e.metadata.ip_address, e.metadata.user_agent, e.metadata.request_id,
            e.metadata.source, e.event_type, e.stream_id, e.version, e.position)


def neutralised(cell: object) -> object:
    """A text cell a spreadsheet would read as a formula, prefixed with `'` so it reads as
    text; every other cell as it is (the NDJSON export keeps the stored values)."""
    if isinstance(cell, str) and cell.startswith(FORMULA_STARTS):
        return "'" + cell
    return cell


def _csv(cells: tuple[object, ...]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerow([neutralised(c) for c in cells])
    return out.getvalue().encode()

