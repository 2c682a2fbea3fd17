"""Bulk operation routes: submit up to MAX_BULK_ITEMS resource writes (202 at once; the
`chronicle bulk` worker applies them), list an organization's operations, and read one's
progress and per-item results from the bulk_operations read model. The permission is
`resources` (`resources:<type>` with each item's action to submit)."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, JSONBody, QueryParameter

from api.auth.access import Tenant, organization_for, require, tenant_of
from api.auth.tenancy import not_found, read, read_one
from api.platform import openapi as docs
from api.platform.dependencies import CaughtUp, Ctx, Services, waits_for
from api.platform.idempotency import run_command
from api.platform.paging import cursor_position, pagination
from api.transactions.routes import OrgParam, allowed
from api.transactions.schemas import (
    BulkOperationBody,
    BulkOperationOut,
    BulkOperationPage,
    BulkOperationSummary,
    BulkResultOut,
)
from commands.idempotency import Rendered
from commands.runner import Result
from domain import limits as lim
from domain.bulk_operation.events import ItemResult
from projections import bulk_operation_queries as queries

OperationId = FromPath[Annotated[UUID, QueryParameter()]]
ResultsFrom = Annotated[int, QueryParameter(
    ge=0, le=lim.MAX_BULK_ITEMS, description="The first item index whose result is shown")]
ResultsLimit = Annotated[int, QueryParameter(
    ge=0, le=lim.MAX_BULK_ITEMS, description="At most this many results (0: the counts only,"
                                               " to follow progress)")]
Status = Annotated[Literal["pending", "processing", "completed", "failed"] | None,
                   QueryParameter(required=False, description="Only operations in this status")]
CreatedBy = Annotated[str | None, QueryParameter(
    name="createdBy", required=False, max_length=lim.MAX_QUERY_VALUE,
    description="Only operations this caller submitted (`<kind>:<id>`, as `createdBy`)")]
Limit = Annotated[int, QueryParameter(ge=1, le=lim.MAX_PAGE_SIZE)]
Cursor = Annotated[str | None, QueryParameter(max_length=lim.MAX_CURSOR)]
PATH = "/v1/bulk-operations"
# What refuses a submission; an item's own errors are its result once the worker applies it.
SUBMITTED = ("organization_id_required", "organization_not_found", "permission_denied")


def summary(row: dict[str, Any]) -> BulkOperationSummary:
    return BulkOperationSummary(
        id=row["id"], organization_id=row["organization_id"], status=row["status"],
        total_count=row["total_count"], success_count=row["success_count"],
        failure_count=row["failure_count"], created_by=row["created_by"],
        created_at=row["created_at"], started_at=row["started_at"],
        completed_at=row["completed_at"])


def out(row: dict[str, Any]) -> BulkOperationOut:
    return BulkOperationOut(
        id=row["id"], organization_id=row["organization_id"], status=row["status"],
        total_count=row["total_count"], success_count=row["success_count"],
        failure_count=row["failure_count"],
        results=[BulkResultOut(index=r.index, success=r.success, resource_id=r.resource_id,
                               version=r.version, error=r.error, message=r.message)
                 for r in msgspec.convert(row["results"], list[ItemResult])],
        created_by=row["created_by"], created_at=row["created_at"],
        started_at=row["started_at"], completed_at=row["completed_at"])


class BulkOperationController(Controller):
    path = PATH
    tags = ["bulk operations"]
    dependencies = waits_for("bulk_operations")

    @post("/", status_code=202, summary="Submit a bulk operation (applied in the background)",
          **docs.documented(202, BulkOperationOut, *docs.WRITE, *docs.BODY, *SUBMITTED,
                            request_headers=("IdempotencyKey",),
                            success_headers=("Location", "Idempotent-Replayed"),
                            description="Accepted: the operation, pending; its `position` as"
                                        " `min_position` reads it back."))
    async def submit(self, request: Request, container: Services, ctx: Ctx, tenant: Tenant,
                     data: JSONBody[BulkOperationBody],
                     organization_id: OrgParam = None) -> Response[Any]:
        org_id = organization_for(tenant, organization_id)
        items = [item.as_write() for item in data.items]
        allowed(request, org_id, items)
        c, at = container, ctx.clock()

        def make(result: Result) -> Rendered:
            body = BulkOperationOut(
                id=result.stream_id, organization_id=org_id, status="pending",
                total_count=len(items), success_count=0, failure_count=0, results=[],
                created_by=f"{ctx.actor.kind}:{ctx.actor.id}", created_at=at,
                position=result.position)
            return Rendered(202, msgspec.json.encode(body),
                            {"Location": f"{PATH}/{result.stream_id}"})

        return await run_command(request, c, lambda seal: c.bulk.submit(
            ctx, org_id, items, seal=seal), make=make)

    @get("/", summary="The organization's bulk operations, in submission order (no results)",
         **docs.read(BulkOperationPage, "invalid_parameter", "cursor_invalid",
                     "organization_id_required", "permission_denied", "not_caught_up"))
    async def list_(self, request: Request, container: Services, tenant: Tenant,
                    caught_up: CaughtUp, organization_id: OrgParam = None,
                    status: Status = None, created_by: CreatedBy = None,
                    limit: Limit = lim.DEFAULT_PAGE_SIZE, cursor: Cursor = None,
                    ) -> BulkOperationPage:
        org_id = organization_for(tenant, organization_id)
        require(request, "resources", "read", org_id)
        after = cursor_position(cursor) if cursor else None
        await caught_up(container)
        rows, more, total = await read(container, request, lambda conn: queries.page(
            conn, org_id, status=status, created_by=created_by, limit=limit, after=after))
        return BulkOperationPage(data=[summary(r) for r in rows],
                                 pagination=pagination(rows, more, total, limit, after))

    @get("/{operation_id:uuid}", summary="A bulk operation: status, counts, per-item results",
         **docs.read(BulkOperationOut, "invalid_parameter", "bulk_operation_not_found",
                     "organization_id_required", "permission_denied", "not_caught_up"))
    async def read(self, request: Request, operation_id: OperationId, container: Services,
                   tenant: Tenant, caught_up: CaughtUp, organization_id: OrgParam = None,
                   results_from: ResultsFrom = 0,
                   results_limit: ResultsLimit = lim.MAX_BULK_ITEMS) -> BulkOperationOut:
        org_id = organization_for(tenant, organization_id)
        require(request, "resources", "read", org_id)
        await caught_up(container)
        row = await read_one(container.pool, tenant_of(request), queries.GET, (
            results_from, results_from, results_limit, operation_id, org_id))
        if row is None:
            raise await not_found(container, request, operation_id, "bulk_operation_not_found")
        return out(row)
