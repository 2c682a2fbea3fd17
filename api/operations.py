"""Operator routes: projection checkpoints and lag."""

from __future__ import annotations

import msgspec
from litestar import Request, get

from api.auth.access import require_operator
from api.platform.dependencies import Services
from api.platform.openapi import OPERATOR_ONLY, read
from infra.eventstore import EVENTS_TABLE
from projections.status import ALL_STATUS


class ProjectionStatus(msgspec.Struct, frozen=True, rename="camel"):
    projection: str
    checkpoint: int
    lag: int
    consumed: int


class ProjectionsReport(msgspec.Struct, frozen=True, rename="camel"):
    head: int
    data: list[ProjectionStatus]


@get("/v1/projections", tags=["operations"],
     summary="Each projection's checkpoint and lag (store head minus checkpoint)",
     **read(ProjectionsReport, *OPERATOR_ONLY))
async def projections(request: Request, container: Services) -> ProjectionsReport:
    require_operator(request)
    async with container.pool.connection() as conn:
        cur = await conn.execute(f"SELECT coalesce(max(notification_id), 0) FROM {EVENTS_TABLE}")
        row = await cur.fetchone()
        head = int(row[0]) if row else 0
        cur = await conn.execute(ALL_STATUS)
        rows = await cur.fetchall()
    return ProjectionsReport(head=head, data=[
        ProjectionStatus(projection=name, checkpoint=int(pos), lag=max(head - int(pos), 0),
                         consumed=int(consumed)) for name, pos, consumed in rows])
