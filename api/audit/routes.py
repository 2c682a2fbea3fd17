"""Audit routes: the audit trail (filtered, cursor paged), its export as NDJSON or CSV streamed
through a server-side cursor, and the hash chain's verification. Entries come from the audit
read model and no route changes or deletes one; the permission is `audit` (read)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal
from uuid import UUID

from litestar import Controller, Request, get
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, OpenAPIType, Schema
from litestar.params import QueryParameter
from litestar.response import Stream

from api.audit.export import MEDIA, entry, exported
from api.audit.schemas import (
    AuditEntryOut,
    AuditPage,
    ChainBreak,
    ChainReport,
    VerifyOut,
)
from api.auth.access import Tenant, require
from api.auth.tenancy import read
from api.platform import openapi as docs
from api.platform.dependencies import CaughtUp, Services, waits_for
from api.platform.paging import cursor_position, pagination
from api.platform.times import parse_time
from domain import limits as lim
from projections import audit_queries as queries
from projections import chain_verify

RESOURCE = "audit"
Text = Annotated[str | None, QueryParameter(max_length=lim.MAX_QUERY_TEXT, required=False)]
Since = Annotated[str | None, QueryParameter(
    name="from", max_length=lim.MAX_TIMESTAMP_TEXT, required=False,
    description="Entries at or after this RFC 3339 time")]
Until = Annotated[str | None, QueryParameter(
    name="to", max_length=lim.MAX_TIMESTAMP_TEXT, required=False,
    description="Entries before this RFC 3339 time")]
OrgParam = Annotated[UUID | None, QueryParameter(
    required=False, description="The operator's choice of organization (default: every one;"
                                " a caller's own is implied)")]



def export_docs() -> dict[str, Any]:
    """The read's documentation, with its 200 in both media types the export streams."""
    kwargs = docs.read(AuditEntryOut, "invalid_parameter", "permission_denied",
                       "not_caught_up")
    base = kwargs["operation_class"]

    @dataclass
    class Exported(base):  # type: ignore[valid-type,misc]
        def __post_init__(self) -> None:
            super().__post_init__()
            ok = (self.responses or {}).get("200")
            if isinstance(ok, OpenAPIResponse):
                ok.description = "The entries: one JSON object a line, or a CSV row each"
                ok.content = {media.split(";")[0]: OpenAPIMediaType(
                    schema=Schema(type=OpenAPIType.STRING)) for media in MEDIA.values()}

    return {**kwargs, "operation_class": Exported}


def filters(request: Request, tenant: UUID | None, organization_id: UUID | None,
            actor: str | None, resource: str | None, resource_id: str | None,
            action: str | None, since: str | None, until: str | None) -> queries.Filters:
    """The caller's filters; another organization's id is a 404 (recorded as a denial)."""
    org_id = organization_id or tenant
    require(request, RESOURCE, "read", org_id)
    return queries.Filters(org_id, actor, resource, resource_id, action,
                           parse_time(since, "from"), parse_time(until, "to"))


class AuditController(Controller):
    path = "/v1/audit"
    tags = ["audit"]
    dependencies = waits_for("audit_entries")

    @get("/", summary="The audit trail: one entry per event, filtered, in store order",
         **docs.read(AuditPage, "invalid_parameter", "permission_denied", "cursor_invalid",
                     "not_caught_up"))
    async def list_(self, request: Request, container: Services, tenant: Tenant,
                    caught_up: CaughtUp, organization_id: OrgParam = None, actor: Text = None,
                    resource: Text = None, resource_id: Text = None, action: Text = None,
                    since: Since = None,
                    until: Until = None,
                    limit: Annotated[int, QueryParameter(
                        ge=1, le=lim.MAX_PAGE_SIZE)] = lim.DEFAULT_PAGE_SIZE,
                    cursor: Annotated[str | None, QueryParameter(
                        max_length=lim.MAX_CURSOR)] = None) -> AuditPage:
        wanted = filters(request, tenant, organization_id, actor, resource, resource_id,
                         action, since, until)
        after = cursor_position(cursor) if cursor else None
        await caught_up(container)
        rows, more, total = await read(container, request, lambda conn: queries.page(
            conn, wanted, limit=limit, after=after))
        return AuditPage(data=[entry(r) for r in rows],
                  pagination=pagination(rows, more, total, limit, after))

    @get("/export", summary="Every matching entry, streamed as NDJSON or CSV",
         **export_docs())
    async def export(self, request: Request, container: Services, tenant: Tenant,
                     caught_up: CaughtUp, format: Annotated[Literal["ndjson", "csv"], QueryParameter(
                         description="ndjson (default) or csv")] = "ndjson",
                     organization_id: OrgParam = None, actor: Text = None,
                     resource: Text = None, resource_id: Text = None, action: Text = None,
                     since: Since = None,
                     until: Until = None) -> Stream:
        wanted = filters(request, tenant, organization_id, actor, resource, resource_id,
                         action, since, until)
        await caught_up(container)
        return Stream(exported(container, request, wanted, format), media_type=MEDIA[format],
                      headers={"Content-Disposition": f'attachment; filename="audit.{format}"'})

    @get("/verify", summary="Recompute the hash chain from the event store; the first break",
         **docs.read(VerifyOut, "invalid_parameter", "permission_denied"))
    async def verify(self, request: Request, container: Services, tenant: Tenant,
                     organization_id: OrgParam = None) -> VerifyOut:
        org_id = organization_id or tenant
        require(request, RESOURCE, "read", org_id)
        # The chain is checked against the event store's own table, which has no tenant wall:
        # the organization is fixed here, by the caller's principal (or the operator's choice).
        async with container.pool.connection() as conn:
            reports = await chain_verify.check(conn, container.settings.chain_key, org_id)
        return VerifyOut(ok=all(r.ok for r in reports),
                         organizations=[report_out(r) for r in reports])


def report_out(r: chain_verify.Report) -> ChainReport:
    b = r.break_
    return ChainReport(organization_id=r.organization_id, ok=r.ok, events=r.events,
                       head_position=r.head_position, checkpoints=r.checkpoints,
                       break_=None if b is None else ChainBreak(
                           kind=b.kind, position=b.position, stream_id=b.stream_id,
                           version=b.version, seq=b.seq))
