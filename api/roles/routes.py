"""Role routes: the system roles and an organization's custom roles (create, list, read,
update, delete). Reads come from the roles read model."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.params import FromPath, JSONBody, QueryParameter

from api.auth.access import Caller, Tenant, grantor_of, organization_for, require
from api.auth.principal import Principal
from api.auth.tenancy import not_found, read
from api.platform import openapi as docs
from api.platform.bodies import permissions_of
from api.platform.dependencies import CaughtUp, Ctx, Expected, Services, waits_for
from api.platform.idempotency import run_command
from api.platform.schemas import CommandAccepted
from api.roles.schemas import CreateRoleBody, RoleList, RoleOut, UpdateRoleBody
from commands.runner import Context
from domain.permissions import ApiPermission
from domain.role import decider as role
from domain.role.system import DESCRIPTIONS, SYSTEM_ROLES
from infra.container import Container
from projections import role_queries as roles
from projections.paging import Query

RoleId = FromPath[UUID]
TARGET = ("role_not_found", "permission_denied")
SYSTEM = [RoleOut(id=name, name=name, description=DESCRIPTIONS[name], is_system=True,
                  permissions=list(perms)) for name, perms in SYSTEM_ROLES.items()]


def out(row: dict[str, Any]) -> RoleOut:
    return RoleOut(id=str(row["id"]), name=row["name"], description=row["description"],
                   is_system=False, organization_id=row["organization_id"],
                   permissions=msgspec.convert(row["permissions"], list[ApiPermission]),
                   version=row["version"])


class RoleController(Controller):
    path = "/v1/roles"
    tags = ["roles"]
    dependencies = waits_for("roles")

    @post("/", status_code=201, summary="Create a custom role", **docs.command(
        201, *docs.BODY, "organization_id_required", "organization_not_found",
        "permission_denied", "permission_escalation", "role_name_taken", "role_name_reserved",
        example=None, creates=True))
    async def create(self, request: Request, container: Services, ctx: Ctx, caller: Caller,
                     tenant: Tenant, data: JSONBody[CreateRoleBody]) -> Response[CommandAccepted]:
        org_id = organization_for(tenant, data.organization_id)
        require(request, "roles", "create", org_id)
        c, grantor = container, grantor_of(caller)
        command = role.CreateRole(organization_id=org_id, name=data.name,
                                  description=data.description,
                                  permissions=permissions_of(data.permissions))
        return await run_command(request, c, lambda seal: c.roles.create(
            ctx, command, grantor, seal=seal), status=201, location="/v1/roles")

    @get("/", summary="The system roles and the organization's custom roles", **docs.read(
        RoleList, "invalid_parameter", "not_found", "permission_denied", "not_caught_up"))
    async def list_(self, request: Request, container: Services, tenant: Tenant,
                    caught_up: CaughtUp,
                    organization_id: Annotated[UUID | None, QueryParameter(required=False)] = None,
                    ) -> RoleList:
        org_id = organization_id or tenant
        require(request, "roles", "read", org_id)
        rows = await _rows(request, container, caught_up, lambda conn: roles.listed(conn, org_id))
        return RoleList(data=[*SYSTEM, *(out(r) for r in rows)])

    @get("/{role_id:uuid}", summary="One custom role", **docs.read(
        RoleOut, "invalid_parameter", *TARGET, "not_caught_up"))
    async def read(self, request: Request, role_id: RoleId, container: Services,
                   caught_up: CaughtUp) -> RoleOut:
        rows = await _rows(request, container, caught_up, lambda conn: roles.with_id(conn, role_id))
        if not rows:
            raise await not_found(container, request, role_id, "role_not_found")
        require(request, "roles", "read", rows[0]["organization_id"])
        return out(rows[0])

    @patch("/{role_id:uuid}", summary="Rename a custom role or change its permissions",
           **docs.command(200, *docs.BODY, *TARGET, *docs.VERSIONED, "permission_escalation",
                          "role_name_taken",
                          "role_name_reserved", example=None))
    async def update(self, request: Request, role_id: RoleId, container: Services, ctx: Ctx,
                     expected: Expected, caller: Caller, tenant: Tenant,
                     data: JSONBody[UpdateRoleBody]) -> Response[CommandAccepted]:
        command = role.UpdateRole(
            name=data.name, description=data.description,
            permissions=None if data.permissions is None else permissions_of(data.permissions))
        return await _handle(request, container, ctx, expected, caller, tenant, role_id,
                             command)

    @delete("/{role_id:uuid}", status_code=200, summary="Delete a custom role (its users keep "
            "only their own permissions)", **docs.command(200, *TARGET, *docs.VERSIONED,
                                                           example=None))
    async def remove(self, request: Request, role_id: RoleId, container: Services, ctx: Ctx,
                     expected: Expected, caller: Caller, tenant: Tenant,
                     ) -> Response[CommandAccepted]:
        return await _handle(request, container, ctx, expected, caller, tenant, role_id,
                             role.DeleteRole())


async def _handle(request: Request, c: Container, ctx: Context, expected: int | None,
                  caller: Principal | None, tenant: UUID | None, role_id: UUID,
                  command: role.UpdateRole | role.DeleteRole) -> Response[CommandAccepted]:
    require(request, "roles", "delete" if isinstance(command, role.DeleteRole) else "update")
    grantor = grantor_of(caller)
    return await run_command(request, c, lambda seal: c.roles.handle(
        ctx, tenant, role_id, command, grantor, seal=seal, expected_version=expected))


async def _rows(request: Request, c: Container, caught_up: CaughtUp,
                query: Query) -> list[dict[str, Any]]:
    await caught_up(c)
    return await read(c, request, query)
