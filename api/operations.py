"""Operator routes: projection checkpoints and lag."""

from __future__ import annotations

import msgspec
from litestar import Request, get

from api.auth.access import require_operator
from api.platform.dependencies import Services
from api.platform.openapi import OPERATOR_ONLY, read
from projections.status import statuses_async


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
    head, rows = await statuses_async(container.pool)
    return ProjectionsReport(head=head, data=[msgspec.convert(r, ProjectionStatus) for r in rows])
