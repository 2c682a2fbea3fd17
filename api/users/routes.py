"""User routes: invite, list, read, update (profile and role), suspend, reactivate, remove,
and two-factor enrollment. Reads come from the users read model."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar
from uuid import UUID

import msgspec
from anyio import to_thread
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.params import FromPath, JSONBody, QueryParameter
from psycopg import AsyncConnection

from api.auth.access import Caller, Tenant, grantor_of, organization_for, require, shaped
from api.auth.principal import Principal
from api.auth.tenancy import not_found, read
from api.platform import openapi as docs
from api.platform.bodies import permissions_of
from api.platform.dependencies import CaughtUp, Ctx, Expected, Services, waits_for
from api.platform.errors import ApiException
from api.platform.idempotency import run_command
from api.platform.paging import cursor_position
from api.platform.schemas import CommandAccepted, PaginationInfo
from api.users.schemas import (
    CodeBody,
    InviteBody,
    SuspendUserBody,
    TwoFactorEnrollment,
    UpdateUserBody,
    UserOut,
    UserPage,
)
from commands.runner import Context
from commands.users import Planned
from domain import limits as lim
from domain.limits import MAX_ROLE_REF
from domain.permissions import Action, ApiPermission
from domain.user.commands import (
    ChangeRole,
    InviteUser,
    ReactivateUser,
    RemoveUser,
    SuspendUser,
    UpdateProfile,
)
from infra.container import Container
from projections import paging as cursors
from projections import user_queries as users

T = TypeVar("T")
UserId = FromPath[UUID]
STATUSES = ("active", "inactive", "suspended", "removed")
TARGET = ("user_not_found", "permission_denied")
ORG_BODY = ("organization_id_required", "organization_not_found")


def out(row: dict[str, Any]) -> UserOut:
    return UserOut(
        id=row["id"], organization_id=row["organization_id"], email=row["email"],
        first_name=row["first_name"], last_name=row["last_name"], avatar=row["avatar"],
        role=row["role"], permissions=msgspec.convert(row["permissions"], list[ApiPermission]),
        status=row["status"], email_verified=row["email_verified"],
        two_factor_enabled=row["two_factor_enabled"], last_login_at=row["last_login_at"],
        metadata=row["metadata"], version=row["version"], created_at=row["created_at"],
        updated_at=row["updated_at"])


def update_plan(data: UpdateUserBody) -> list[Planned]:
    commands: list[Planned] = []
    if any(v is not None for v in (data.first_name, data.last_name, data.avatar, data.metadata)):
        commands.append(UpdateProfile(first_name=data.first_name, last_name=data.last_name,
                                      avatar=data.avatar, metadata=data.metadata))
    if data.role is not None or data.permissions is not None:
        permissions = None if data.permissions is None else permissions_of(data.permissions)
        commands.append(lambda state: ChangeRole(role=data.role or state.role,
                                                 permissions=permissions))
    return commands


class UserController(Controller):
    path = "/v1/users"
    tags = ["users"]
    dependencies = waits_for("users")

    @post("/", status_code=201, summary="Invite a user (the invitation is mailed)",
          **docs.command(201, *docs.BODY, *ORG_BODY, "permission_denied", "permission_escalation",
                         "email_taken", "email_invalid", "role_invalid", "role_not_found",
                         example=None, creates=True))
    async def invite(self, request: Request, container: Services, ctx: Ctx, caller: Caller,
                     tenant: Tenant, data: JSONBody[InviteBody]) -> Response[CommandAccepted]:
        org_id = organization_for(tenant, data.organization_id)
        require(request, "users", "create", org_id)
        c = container
        command = InviteUser(organization_id=org_id, email=data.email,
                             first_name=data.first_name, last_name=data.last_name,
                             role=data.role, permissions=permissions_of(data.permissions),
                             invited_by=f"{ctx.actor.kind}:{ctx.actor.id}")
        grantor = grantor_of(caller)
        return await run_command(request, c, lambda seal: c.users.invite(
            ctx, org_id, command, grantor, seal=seal), status=201, location="/v1/users")

    @get("/", summary="List users (cursor pagination, invitation order)", **docs.read(
        UserPage, "invalid_parameter", "not_found", "permission_denied", "status_filter_invalid",
        "cursor_invalid", "not_caught_up"))
    async def list_(self, request: Request, container: Services, tenant: Tenant,
                    caught_up: CaughtUp,
                    organization_id: Annotated[UUID | None, QueryParameter(required=False)] = None,
                    limit: Annotated[int, QueryParameter(ge=1, le=lim.MAX_PAGE_SIZE)] = lim.DEFAULT_PAGE_SIZE,
                    cursor: Annotated[str | None, QueryParameter(max_length=lim.MAX_CURSOR)] = None,
                    status: Annotated[list[str] | None, QueryParameter(
                        required=False, description="Any of active, inactive, suspended, "
                                                    "removed; default all but removed.")] = None,
                    role: Annotated[str | None, QueryParameter(
                        required=False, max_length=MAX_ROLE_REF)] = None,
                    ) -> UserPage:
        org_id = organization_id or tenant
        require(request, "users", "read", org_id)
        statuses = status or ["active", "inactive", "suspended"]
        if any(s not in STATUSES for s in statuses):
            raise ApiException(400, "invalid_parameter", reason="status_filter_invalid",
                               params={"allowed": ", ".join(STATUSES)})
        after = cursor_position(cursor) if cursor else None
        rows, more, total = await _read(request, container, caught_up, lambda conn: users.page(
            conn, statuses=statuses, organization_id=org_id, role=role, after=after, limit=limit))
        visible = [v for v in (shaped(request, "users", out(r)) for r in rows) if v is not None]
        return UserPage(data=visible, pagination=PaginationInfo(
            limit=limit, total=total, total_pages=math.ceil(total / limit), has_next=more,
            has_prev=after is not None,
            next_cursor=cursors.encode_cursor(rows[-1]["created_position"]) if more else None))

    @get("/{user_id:uuid}", summary="One user", **docs.read(
        UserOut, "invalid_parameter", *TARGET, "not_caught_up", etag=True))
    async def read(self, request: Request, user_id: UserId, container: Services,
                   caught_up: CaughtUp) -> Response[UserOut]:
        rows = await _read(request, container, caught_up, lambda conn: users.with_id(conn, user_id))
        if not rows:
            raise await not_found(container, request, user_id, "user_not_found")
        require(request, "users", "read", rows[0]["organization_id"])
        found = out(rows[0])
        seen = shaped(request, "users", found)  # a key's field and filter conditions
        if seen is None:
            raise ApiException(404, "not_found", reason="user_not_found")
        return Response(seen, headers={"ETag": f'"{found.version}"'})

    @patch("/{user_id:uuid}", summary="Update names, avatar, metadata, role or permissions",
           **docs.command(200, *docs.BODY, *TARGET, *docs.VERSIONED, "permission_escalation",
                          "role_invalid",
                          "role_not_found", "last_owner", "avatar_invalid", example=None))
    async def update(self, request: Request, user_id: UserId, container: Services, ctx: Ctx,
                     expected: Expected, caller: Caller, tenant: Tenant,
                     data: JSONBody[UpdateUserBody]) -> Response[CommandAccepted]:
        return await _handle(request, container, ctx, expected, caller, tenant, user_id,
                             update_plan(data))

    @post("/{user_id:uuid}/suspend", status_code=200, summary="Suspend a user",
          **docs.command(200, "malformed_json", "validation_failed", *TARGET, *docs.VERSIONED,
                         "last_owner",
                         "user_already_suspended", example=None, optional_body=True))
    async def suspend(self, request: Request, user_id: UserId, container: Services, ctx: Ctx,
                      expected: Expected, caller: Caller, tenant: Tenant,
                      data: JSONBody[SuspendUserBody | None] = None) -> Response[CommandAccepted]:
        return await _handle(request, container, ctx, expected, caller, tenant, user_id,
                             [SuspendUser(reason=data.reason if data else "")])

    @post("/{user_id:uuid}/reactivate", status_code=200, summary="Reactivate a suspended user",
          **docs.command(200, *TARGET, *docs.VERSIONED, "user_not_suspended", example=None))
    async def reactivate(self, request: Request, user_id: UserId, container: Services, ctx: Ctx,
                         expected: Expected, caller: Caller, tenant: Tenant,
                         ) -> Response[CommandAccepted]:
        return await _handle(request, container, ctx, expected, caller, tenant, user_id,
                             [ReactivateUser()])

    @delete("/{user_id:uuid}", status_code=200, summary="Remove a user (frees the email)",
            **docs.command(200, *TARGET, *docs.VERSIONED, "last_owner", example=None))
    async def remove(self, request: Request, user_id: UserId, container: Services, ctx: Ctx,
                     expected: Expected, caller: Caller, tenant: Tenant,
                     ) -> Response[CommandAccepted]:
        return await _handle(request, container, ctx, expected, caller, tenant, user_id,
                             [RemoveUser()], "delete")

    @post("/{user_id:uuid}/two-factor", status_code=200,
          summary="Start two-factor enrollment (the secret is shown once)",
          **docs.documented(200, TwoFactorEnrollment, *TARGET, "two_factor_already_enabled",
                            "user_suspended", "user_not_active"))
    async def start_two_factor(self, request: Request, user_id: UserId, container: Services,
                               ctx: Ctx, tenant: Tenant) -> TwoFactorEnrollment:
        require(request, "users", "update")
        e = await to_thread.run_sync(lambda: container.users.start_two_factor(
            ctx, tenant, user_id))
        return TwoFactorEnrollment(id=user_id, secret=e.secret, otpauth_uri=e.uri,
                                   version=e.result.version, position=e.result.position)

    @post("/{user_id:uuid}/two-factor/confirm", status_code=200,
          summary="Confirm two-factor enrollment with a current code",
          **docs.command(200, *docs.BODY, *TARGET, *docs.VERSIONED, "two_factor_not_pending",
                         "two_factor_already_enabled", "two_factor_code_invalid", example=None))
    async def confirm_two_factor(self, request: Request, user_id: UserId, container: Services,
                                 ctx: Ctx, expected: Expected, tenant: Tenant,
                                 data: JSONBody[CodeBody]) -> Response[CommandAccepted]:
        require(request, "users", "update")
        return await run_command(request, container, lambda seal: container.users.confirm_two_factor(
            ctx, tenant, user_id, data.code, seal=seal, expected_version=expected))

    @delete("/{user_id:uuid}/two-factor", status_code=200,
            summary="Disable two-factor authentication (needs a current code)",
            **docs.command(200, *docs.BODY, *TARGET, *docs.VERSIONED, "two_factor_not_enabled",
                           "two_factor_code_invalid", example=None))
    async def disable_two_factor(self, request: Request, user_id: UserId, container: Services,
                                 ctx: Ctx, expected: Expected, tenant: Tenant,
                                 data: JSONBody[CodeBody]) -> Response[CommandAccepted]:
        require(request, "users", "update")
        return await run_command(request, container, lambda seal: container.users.disable_two_factor(
            ctx, tenant, user_id, data.code, seal=seal, expected_version=expected))


async def _handle(request: Request, c: Container, ctx: Context, expected: int | None,
                  caller: Principal | None, tenant: UUID | None, user_id: UUID,
                  commands: list[Planned], action: Action = "update") -> Response[CommandAccepted]:
    require(request, "users", action)
    grantor = grantor_of(caller)
    return await run_command(request, c, lambda seal: c.users.handle(
        ctx, tenant, user_id, commands, grantor, seal=seal, expected_version=expected))


async def _read(request: Request, c: Container, caught_up: CaughtUp,
                query: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    await caught_up(c)
    return await read(c, request, query)

