"""Resource queries under /v1/resources/{resource_type}: the list (filters, order, search,
select, keyset cursor, expand) and the NDJSON export of the same query, both from the
resources read model behind the tenant wall."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, get
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, OpenAPIType, Schema
from litestar.params import QueryParameter
from litestar.response import Stream
from msgspec import UNSET
from psycopg import AsyncConnection

from api.auth.access import Tenant, principal_of, shaped
from api.auth.tenancy import WALL, read
from api.platform import openapi as docs
from api.platform.dependencies import CaughtUp, Services, Wait, waits_for
from api.platform.dependencies import caught_up as wait
from api.platform.errors import ApiException
from api.resources.expand import expanded
from api.resources.requests import parsed
from api.resources.routes import OrgParam, TypeName, organization
from api.resources.schemas import QueryPagination, ResourceQueryPage
from api.resources.views import from_row
from domain import limits as lim
from domain.paths import picked
from domain.permissions import required_filters
from infra.container import Container
from projections import paging
from projections import resource_queries as queries
from projections import resource_type_queries as type_queries
from projections.resource_grants import narrowed
from projections.resource_query import Query, encode_cursor
from projections.rows import READER_ROLE, TENANT_SETTING

NDJSON = "application/x-ndjson"
Text = Annotated[str | None, QueryParameter(required=False, max_length=lim.MAX_QUERY_VALUE)]
Select = Annotated[str | None, QueryParameter(
    required=False, max_length=lim.MAX_QUERY_VALUE,
    description=f"Up to {lim.MAX_SELECT_FIELDS} comma-separated fields: top-level ones (id, data,"
                " metadata, status, …) or data.<dot.path>, nested in the answer as in the"
                " resource")]
QUERY_ERRORS = ("invalid_parameter", "query_field_unknown", "query_operator_invalid",
                "query_operator_not_for_field", "query_value_invalid", "query_too_many_filters",
                "query_parameter_repeated", "query_order_invalid", "query_limit_invalid",
                "query_select_invalid", "query_expand_invalid", "cursor_invalid",
                "status_filter_invalid", "organization_id_required", "permission_denied",
                "resource_type_not_found", "not_caught_up")
FILTERS = ("Filters are `<field>=<op>.<value>`: field data.<path>, id, status, version, tags,"
           " labels.<key>, createdAt, updatedAt, createdBy; op eq, ne, gt, gte, lt, lte,"
           " in.(a,b,c), contains, exists.true|false, prefix; several are ANDed; values are"
           " typed by the type's JSON Schema.")


def export_docs() -> dict[str, Any]:
    """The export's documentation: its 200 is NDJSON, a resource (as the list shows one) a
    line."""
    kwargs = docs.read(ResourceQueryPage, *QUERY_ERRORS)
    base = kwargs["operation_class"]

    @dataclass
    class Exported(base):  # type: ignore[valid-type,misc]
        def __post_init__(self) -> None:
            super().__post_init__()
            ok = (self.responses or {}).get("200")
            if isinstance(ok, OpenAPIResponse):
                ok.description = "The resources: one JSON object a line"
                ok.content = {NDJSON: OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING))}

    return {**kwargs, "operation_class": Exported}


class ResourceQueryController(Controller):
    path = "/v1/resources/{resource_type:str}"
    tags = ["resources"]
    dependencies = waits_for("resources")

    @get("/", summary="Query a type's resources: filters, order, search, keyset cursor",
         description=FILTERS, **docs.read(ResourceQueryPage, *QUERY_ERRORS))
    async def list_(self, request: Request, resource_type: TypeName, container: Services,
                    tenant: Tenant, caught_up: CaughtUp, organization_id: OrgParam = None,
                    order: Text = None, limit: Text = None, cursor: Text = None,
                    before: Text = None, count: Text = None, select: Select = None,
                    q: Text = None, expand: Text = None,
                    status: Text = None) -> Response[Any]:
        org_id = organization(request, tenant, organization_id, resource_type, "read")
        await both_caught_up(container, caught_up)

        async def query(conn: AsyncConnection) -> tuple[Query, paging.Page, list[Any]]:
            wanted = await _parsed_for(conn, request, org_id, resource_type)
            found = await queries.page(conn, org_id, resource_type, wanted)
            views = [shaped(request, f"resources:{resource_type}", from_row(r))
                     for r in found.rows]
            views = await expanded(conn, request, org_id, views, wanted.expand)
            return wanted, found, views

        wanted, (rows, more, total), views = await read(container, request, query)
        seen = [_selected(v, wanted.select) for v in views if v]
        has_next, has_prev = (True, more) if wanted.backward else (more, wanted.cursor is not None)
        info = QueryPagination(
            limit=wanted.limit, has_next=bool(rows) and has_next,
            has_prev=bool(rows) and has_prev,
            next_cursor=encode_cursor(rows[-1]["id"], wanted.signature)
            if rows and has_next else None,
            prev_cursor=encode_cursor(rows[0]["id"], wanted.signature, backward=True)
            if rows and has_prev else None,
            total=UNSET if total is None else total,
            total_pages=UNSET if total is None else math.ceil(total / wanted.limit))
        return Response({"data": seen, "pagination": msgspec.to_builtins(info)})

    @get("/export", summary="Every resource the query matches, streamed as NDJSON",
         description=f"{FILTERS} The list's cursor, limit and expand do not apply.",
         **export_docs())
    async def export(self, request: Request, resource_type: TypeName, container: Services,
                     tenant: Tenant, caught_up: CaughtUp, organization_id: OrgParam = None,
                     order: Text = None, select: Select = None, q: Text = None,
                     status: Text = None) -> Stream:
        org_id = organization(request, tenant, organization_id, resource_type, "read")
        await both_caught_up(container, caught_up)
        wanted = await read(container, request, lambda conn: _parsed_for(
            conn, request, org_id, resource_type))
        return Stream(exported(container, request, org_id, resource_type, wanted),
                      media_type=NDJSON, headers={
                          "Content-Disposition": f'attachment; filename="{resource_type}.ndjson"'})


async def both_caught_up(container: Container, caught_up: Wait) -> None:
    """A query reads the type's schema beside its resources: ``min_position`` waits for
    both read models."""
    await caught_up(container)
    await wait(container, caught_up.min_position, "resource_types")


async def _parsed_for(conn: AsyncConnection, request: Request, org_id: UUID,
                      resource_type: str) -> Query:
    """The request's query, narrowed to the data filters of the caller's read grant: a page,
    its cursors and its total count only rows the caller may see."""
    schema = await _schema(conn, org_id, resource_type)
    principal = principal_of(request)
    wanted = parsed(list(request.query_params.multi_items()), schema)
    if principal is None:
        return wanted
    return narrowed(wanted, required_filters(principal.grants, f"resources:{resource_type}",
                                             "read"), schema)


async def exported(container: Container, request: Request, org_id: UUID, resource_type: str,
                   wanted: Query) -> AsyncIterator[bytes]:
    """The export's chunks, a batch of lines each: one transaction (behind the tenant wall
    for an organization's principal) holds the server-side cursor while the response streams."""
    principal = principal_of(request)
    grant = f"resources:{resource_type}"
    async with container.pool.connection() as conn, conn.transaction():
        await conn.execute("SET TRANSACTION READ ONLY")
        if principal is not None:
            await conn.execute(WALL, (READER_ROLE, TENANT_SETTING,
                                      str(principal.organization_id)))
        async for batch in queries.every(conn, org_id, resource_type, wanted):
            views = (shaped(request, grant, from_row(r)) for r in batch)
            yield b"".join(msgspec.json.encode(_selected(v, wanted.select)) + b"\n"
                           for v in views if v)


async def _schema(conn: AsyncConnection, org_id: UUID, resource_type: str) -> dict[str, Any]:
    found = await type_queries.named(conn, org_id, resource_type)
    if not found:
        raise ApiException(404, "not_found", reason="resource_type_not_found")
    schema: dict[str, Any] = found[0]["schema"]
    return schema


def _selected(view: Any, names: tuple[str, ...]) -> Any:
    """Only the selected fields, a ``data.<path>`` nested as in the resource."""
    if not names:
        return view
    return picked(view if isinstance(view, dict) else msgspec.to_builtins(view), names)
