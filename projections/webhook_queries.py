"""Queries for the webhook routes: an organization's endpoints (with the sender's health
figures beside each), its deliveries (filtered, cursor-paged) and one delivery's attempts."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from projections import paging
from projections.webhook_endpoints import TABLE
from projections.webhook_tables import ATTEMPTS, DELIVERIES, TARGETS

ENDPOINTS = f"{TABLE} e LEFT JOIN {TARGETS} t ON t.endpoint_id = e.id"
ENDPOINT_COLUMNS = ("e.id, e.organization_id, e.url, e.event_types, e.description, e.metadata,"
                    " e.status, e.disabled_reason, e.secret_rolled_at, e.version,"
                    " e.created_position, e.created_at, e.updated_at,"
                    " coalesce(t.failure_count, 0) AS failure_count, t.last_success_at,"
                    " t.last_failure_at")
DELIVERY_COLUMNS = ("id, organization_id, endpoint_id, event_id, event_type, stream_id,"
                    " stream_version, position, status, attempts, response_code, response_body,"
                    " error, delivered_at, next_retry_at, created_at, updated_at,"
                    " created_position, generation")


async def endpoints(conn: AsyncConnection, organization_id: UUID, *, limit: int,
                    after: int | None = None) -> paging.Page:
    return await paging.page(conn, ENDPOINTS, ENDPOINT_COLUMNS,
                             "e.organization_id = %s AND e.status <> 'deleted'",
                             (organization_id,), limit=limit, after=after, count=True)


async def endpoint(conn: AsyncConnection, endpoint_id: UUID) -> list[dict[str, Any]]:
    return (await paging.page(conn, ENDPOINTS, ENDPOINT_COLUMNS,
                              "e.id = %s AND e.status <> 'deleted'", (endpoint_id,),
                              limit=1)).rows


async def deliveries(conn: AsyncConnection, organization_id: UUID, *, limit: int,
                     after: int | None = None, endpoint_id: UUID | None = None,
                     event_type: str | None = None, status: str | None = None) -> paging.Page:
    clauses = ["organization_id = %s"]
    values: list[object] = [organization_id]
    for clause, value in (("endpoint_id = %s", endpoint_id), ("event_type = %s", event_type),
                          ("status = %s", status)):
        if value is not None:
            clauses.append(clause)
            values.append(value)
    return await paging.page(conn, DELIVERIES, DELIVERY_COLUMNS, " AND ".join(clauses), values,
                             limit=limit, after=after, count=True)


async def delivery(conn: AsyncConnection, delivery_id: UUID) -> list[dict[str, Any]]:
    """The delivery with its attempts, oldest first (none: not found, or another tenant's)."""
    rows = (await paging.page(conn, DELIVERIES, DELIVERY_COLUMNS, "id = %s", (delivery_id,),
                              limit=1)).rows
    if not rows:
        return rows
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(f"SELECT attempt, status, response_code, response_body, error, started_at,"
                      f" duration_ms FROM {ATTEMPTS} WHERE delivery_id = %s ORDER BY attempt",
                      (delivery_id,))
    return [{**rows[0], "attempt_list": await cur.fetchall()}]


async def event_deliveries(conn: AsyncConnection, event_id: UUID,
                           limit: int) -> list[dict[str, Any]]:
    """Up to ``limit`` deliveries of one event, oldest first, with the body sent and every
    attempt (none: not found, or another tenant's)."""
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(f"SELECT {DELIVERY_COLUMNS}, body FROM {DELIVERIES} WHERE event_id = %s"
                      " ORDER BY created_position LIMIT %s", (event_id, limit))
    rows = await cur.fetchall()
    if not rows:
        return rows
    await cur.execute(f"SELECT delivery_id, attempt, status, response_code, response_body,"
                      f" error, started_at, duration_ms FROM {ATTEMPTS}"
                      " WHERE delivery_id = ANY(%s) ORDER BY delivery_id, attempt",
                      ([r["id"] for r in rows],))
    attempts: dict[UUID, list[dict[str, Any]]] = {}
    for a in await cur.fetchall():
        attempts.setdefault(a["delivery_id"], []).append(a)
    return [{**r, "attempt_list": attempts.get(r["id"], [])} for r in rows]
