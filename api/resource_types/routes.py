"""Resource type routes: register, list, read (any type version) and change an organization's
resource types. Reads come from the resource_types read model; the permission is `resources`."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, get, patch, post
from litestar.params import FromPath, JSONBody, QueryParameter

from api.auth.access import Tenant, organization_for, require
from api.auth.tenancy import read
from api.platform import openapi as docs
from api.platform.dependencies import CaughtUp, Ctx, Expected, Services, waits_for
from api.platform.errors import ApiException
from api.platform.idempotency import run_command
from api.platform.paging import cursor_position, pagination
from api.platform.schemas import CommandAccepted
from api.resource_types.schemas import (
    CreateResourceTypeBody,
    ResourceTypeOut,
    ResourceTypePage,
    UpdateResourceTypeBody,
)
from domain import limits as lim
from domain.permissions import Action
from domain.resource_type.commands import ChangeResourceType, RegisterResourceType
from projections import resource_type_queries as queries

RESOURCE = "resources"
Name = FromPath[Annotated[str, QueryParameter(max_length=lim.MAX_TYPE_NAME)]]
OrgParam = Annotated[UUID | None, QueryParameter(
    required=False, description="The operator's choice of organization (a caller's own is"
                                " implied)")]
TARGET = ("resource_type_not_found", "organization_id_required", "permission_denied")


def out(row: dict[str, Any]) -> ResourceTypeOut:
    return ResourceTypeOut(
        id=row["id"], organization_id=row["organization_id"], name=row["name"],
        description=row["description"], schema=row["schema"], type_version=row["type_version"],
        indexed=row["indexed"], version=row["version"], created_at=row["created_at"],
        updated_at=row["updated_at"])


class ResourceTypeController(Controller):
    path = "/v1/resource-types"
    tags = ["resource types"]
    dependencies = waits_for("resource_types")

    @post("/", status_code=201, summary="Register a resource type (a JSON Schema for data)",
          **docs.command(201, *docs.BODY, "organization_id_required", "organization_not_found",
                         "permission_denied", "resource_type_exists",
                         "resource_type_name_invalid", "schema_invalid", example=None,
                         creates=True))
    async def create(self, request: Request, container: Services, ctx: Ctx, tenant: Tenant,
                     data: JSONBody[CreateResourceTypeBody]) -> Response[CommandAccepted]:
        org_id = organization_for(tenant, data.organization_id)
        require(request, RESOURCE, "create", org_id)
        command = RegisterResourceType(organization_id=org_id, name=data.name,
                                       schema=data.schema, description=data.description,
                                       indexed=tuple(data.indexed))
        c = container
        return await run_command(request, c, lambda seal: c.resource_types.register(
            ctx, command, seal=seal), status=201, location=self.path, named=data.name)

    @get("/", summary="List resource types (cursor pagination, registration order)",
         **docs.read(ResourceTypePage, "invalid_parameter", "organization_id_required",
                     "permission_denied", "cursor_invalid", "not_caught_up"))
    async def list_(self, request: Request, container: Services, tenant: Tenant,
                    caught_up: CaughtUp, organization_id: OrgParam = None,
                    limit: Annotated[int, QueryParameter(
                        ge=1, le=lim.MAX_PAGE_SIZE)] = lim.DEFAULT_PAGE_SIZE,
                    cursor: Annotated[str | None, QueryParameter(
                        max_length=lim.MAX_CURSOR)] = None,
                    ) -> ResourceTypePage:
        org_id = _organization(request, tenant, organization_id, "read")
        after = cursor_position(cursor) if cursor else None
        await caught_up(container)
        rows, more, total = await read(container, request, lambda conn: queries.page(
            conn, org_id, limit=limit, after=after))
        return ResourceTypePage(data=[out(r) for r in rows],
                         pagination=pagination(rows, more, total, limit, after))

    @get("/{name:str}", summary="One resource type, as of its current or another type version",
         **docs.read(ResourceTypeOut, "invalid_parameter", *TARGET, "not_caught_up", etag=True))
    async def read(self, request: Request, name: Name, container: Services, tenant: Tenant,
                   caught_up: CaughtUp, organization_id: OrgParam = None,
                   version: Annotated[int | None, QueryParameter(
                       ge=1, le=2**31 - 1, required=False,
                       description="A type version (default: the current one)")] = None,
                   ) -> Response[ResourceTypeOut]:
        org_id = _organization(request, tenant, organization_id, "read")
        await caught_up(container)
        rows = await read(container, request, lambda conn: queries.named(
            conn, org_id, name, version))
        if not rows:
            raise ApiException(404, "not_found", reason="resource_type_not_found")
        found = out(rows[0])
        return Response(found, headers={"ETag": f'"{found.version}"'})

    @patch("/{name:str}", summary="Change a type's schema (in place when it only adds optional"
           " properties, else a new type version) or description", **docs.command(
               200, *docs.BODY, *TARGET, *docs.VERSIONED, "schema_invalid", example=None))
    async def update(self, request: Request, name: Name, container: Services, ctx: Ctx,
                     expected: Expected, tenant: Tenant, data: JSONBody[UpdateResourceTypeBody],
                     organization_id: OrgParam = None) -> Response[CommandAccepted]:
        org_id = _organization(request, tenant, organization_id, "update")
        command = ChangeResourceType(schema=data.schema, description=data.description)
        c = container
        return await run_command(request, c, lambda seal: c.resource_types.change(
            ctx, org_id, name, command, expected_version=expected, seal=seal))


def _organization(request: Request, tenant: UUID | None, given: UUID | None,
                  action: Action) -> UUID:
    """The organization the route acts on: another one's is a 404, recorded as a denial."""
    org_id = organization_for(tenant, given)
    require(request, RESOURCE, action, org_id)
    return org_id

