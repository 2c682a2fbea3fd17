"""Organization routes: commands through POST/PATCH/DELETE, reads from the read model."""

from __future__ import annotations

import json
import math
from typing import Annotated, Any
from uuid import UUID

import msgspec
from anyio import to_thread
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.params import FromPath, JSONBody, QueryParameter

from api.auth.access import Caller, require, require_operator, shaped
from api.auth.tenancy import reading
from api.organizations import examples as ex
from api.organizations.schemas import (
    CreateOrganizationBody,
    History,
    HistoryItem,
    OrganizationOut,
    OrganizationPage,
    SuspendBody,
    UpdateOrganizationBody,
)
from api.platform import openapi as docs
from api.platform.bodies import to_domain
from api.platform.dependencies import CaughtUp, Ctx, Expected, Services, Wait, waits_for
from api.platform.errors import ApiException
from api.platform.idempotency import run_command
from api.platform.paging import cursor_position
from api.platform.schemas import CommandAccepted, PaginationInfo
from api.platform.times import parse_as_of
from commands import history as audit
from commands.organizations import Plan
from commands.runner import Context
from domain import limits as lim
from domain.organization import decider as org
from domain.organization.commands import (
    ChangePlan,
    CreateOrganization,
    DeleteOrganization,
    OrganizationCommand,
    ReactivateOrganization,
    RenameOrganization,
    SetQuotaPolicy,
    SetRateLimit,
    SuspendOrganization,
    UpdateSettings,
)
from domain.organization.events import OrganizationSettings, RateLimit
from domain.permissions import Action
from infra.container import Container
from projections import organization_queries as queries
from projections import paging

OrgId = FromPath[UUID]
STATUSES = ("active", "suspended", "deleted")


def out(row: dict[str, Any]) -> OrganizationOut:
    settings = row["settings"] if isinstance(row["settings"], dict) else json.loads(row["settings"])
    return OrganizationOut(
        id=row["id"], name=row["name"], slug=row["slug"], plan=row["plan"],
        settings=msgspec.convert(settings, OrganizationSettings), status=row["status"],
        version=row["version"], created_at=row["created_at"], updated_at=row["updated_at"],
        deleted_at=row["deleted_at"],
        rate_limit=msgspec.convert(row["rate_limit"], RateLimit) if row.get("rate_limit") else None,
        quota_policy=row.get("quota_policy"))


def patch_plan(body: UpdateOrganizationBody) -> Plan:
    """The commands a PATCH body asks for, given the organization's current state."""

    def plan(state: org.Organization) -> list[OrganizationCommand]:
        commands: list[OrganizationCommand] = []
        if body.name is not None:
            commands.append(RenameOrganization(name=body.name))
        if body.plan is not None:
            commands.append(ChangePlan(plan=body.plan))
        if body.settings is not None:
            merged = merge(msgspec.to_builtins(state.settings), msgspec.to_builtins(body.settings))
            commands.append(UpdateSettings(settings=msgspec.convert(merged, OrganizationSettings)))
        if body.rate_limit is not msgspec.UNSET:
            commands.append(SetRateLimit(rate_limit=None if body.rate_limit is None
                                         else to_domain(body.rate_limit, RateLimit)))
        if body.quota_policy is not msgspec.UNSET:
            commands.append(SetQuotaPolicy(quota_policy=body.quota_policy))
        return commands

    return plan


def merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """JSON merge of a settings patch: nested objects merge, lists and scalars replace."""
    merged = dict(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merged[key] = merge(base[key], value)
        elif value is not None:
            merged[key] = value
    return merged


class OrganizationController(Controller):
    path = "/v1/organizations"
    tags = ["organizations"]
    dependencies = waits_for("organizations")

    @post("/", status_code=201, summary="Create an organization", **docs.command(
        201, *docs.BODY, *docs.OPERATOR_ONLY, "slug_taken", "ip_whitelist_invalid",
        "allowed_origin_invalid",
        example=ex.CREATED, requests=ex.CREATE_REQUESTS, creates=True))
    async def create(self, request: Request, container: Services, ctx: Ctx,
                     data: JSONBody[CreateOrganizationBody]) -> Response[CommandAccepted]:
        require_operator(request)
        command = CreateOrganization(name=data.name, slug=data.slug, plan=data.plan,
                                     settings=to_domain(data.settings, OrganizationSettings))
        return await run_command(
            request, container, lambda seal: container.organizations.create(ctx, command, seal=seal),
            status=201, location=True)

    @patch("/{organization_id:uuid}",
           summary="Rename, change plan, update settings or (the operator) override rate limits"
                   " or the quota policy",
           description="`rateLimit` replaces the plan's default limits for the organization and "
                       "every key without limits of its own; `quotaPolicy` (`block_429`, "
                       "`block_402` or `overage`) replaces the plan's policy past a usage "
                       "quota; `null` goes back to the plan's. Only the platform operator may "
                       "set either (403 `operator_only`).",
           **docs.command(200, *docs.BODY, *docs.TARGET, *docs.VERSIONED, *docs.OPERATOR_ONLY,
                          "organization_deleted", "timezone_invalid", "allowed_origin_invalid",
                          "rate_limit_out_of_range", example=ex.ACCEPTED,
                          requests=ex.UPDATE_REQUESTS))
    async def update(self, request: Request, organization_id: OrgId, container: Services,
                     ctx: Ctx, expected: Expected, data: JSONBody[UpdateOrganizationBody],
                     ) -> Response[CommandAccepted]:
        if data.rate_limit is not msgspec.UNSET or data.quota_policy is not msgspec.UNSET:
            require_operator(request)  # a tenant cannot lift its own limits nor its quotas' block
        return await _run(request, container, ctx, expected, organization_id, patch_plan(data))

    @post("/{organization_id:uuid}/suspend", status_code=200, summary="Suspend", **docs.command(
        200, "malformed_json", "validation_failed", *docs.TARGET, *docs.VERSIONED,
        "organization_already_suspended", "organization_deleted", example=ex.ACCEPTED,
        requests=ex.SUSPEND_REQUESTS, optional_body=True))
    async def suspend(self, request: Request, organization_id: OrgId, container: Services,
                      ctx: Ctx, expected: Expected, data: JSONBody[SuspendBody | None] = None,
                      ) -> Response[CommandAccepted]:
        reason = data.reason if data else ""
        return await _run(request, container, ctx, expected, organization_id,
                          SuspendOrganization(reason=reason))

    @post("/{organization_id:uuid}/reactivate", status_code=200, summary="Reactivate",
          **docs.command(200, *docs.TARGET, *docs.VERSIONED, "organization_not_suspended",
                         example=ex.ACCEPTED))
    async def reactivate(self, request: Request, organization_id: OrgId, container: Services,
                         ctx: Ctx, expected: Expected) -> Response[CommandAccepted]:
        return await _run(request, container, ctx, expected, organization_id,
                          ReactivateOrganization())

    @delete("/{organization_id:uuid}", status_code=200, summary="Delete (soft)", **docs.command(
        200, *docs.TARGET, *docs.VERSIONED, "organization_deleted", example=ex.ACCEPTED))
    async def remove(self, request: Request, organization_id: OrgId, container: Services,
                     ctx: Ctx, expected: Expected) -> Response[CommandAccepted]:
        return await _run(request, container, ctx, expected, organization_id,
                          DeleteOrganization())

    @get("/{organization_id:uuid}", summary="Get an organization (optionally as of the past)",
         **docs.read(OrganizationOut, *docs.TARGET, "invalid_parameter", "as_of_invalid",
                     "not_caught_up", example=ex.ORGANIZATION, etag=True))
    async def read(self, request: Request, organization_id: OrgId, container: Services,
                   caught_up: CaughtUp, as_of: Annotated[str | None, QueryParameter(
                       required=False, max_length=lim.MAX_TIMESTAMP_TEXT,
                       description="The organization as of a version number, or as of an ISO 8601 "
                                   "time, replayed from its events.")] = None,
                   ) -> Response[OrganizationOut]:
        require(request, "organizations", "read", organization_id)
        if as_of is not None:
            found = await _as_of(container, organization_id, as_of)
        else:
            found = await _current(container, organization_id, caught_up)
        seen = shaped(request, "organizations", found) if found is not None else None
        if found is None or seen is None:
            raise ApiException(404, "not_found", "organization not found",
                               reason="organization_not_found")
        return Response(seen, headers={"ETag": f'"{found.version}"'})

    @get("/", summary="List organizations (cursor pagination, creation order)", **docs.read(
        OrganizationPage, *docs.KEY_PERMISSION, "invalid_parameter", "status_filter_invalid",
        "cursor_invalid", "not_caught_up", example=ex.PAGE))
    async def list_(self, request: Request, container: Services, caller: Caller,
                    caught_up: CaughtUp,
                    limit: Annotated[int, QueryParameter(
                        ge=1, le=lim.MAX_PAGE_SIZE)] = lim.DEFAULT_PAGE_SIZE,
                    cursor: Annotated[str | None, QueryParameter(
                        max_length=lim.MAX_CURSOR, description="The next page: `nextCursor`.")] = None,
                    before: Annotated[str | None, QueryParameter(
                        max_length=lim.MAX_CURSOR, description="The previous page: `prevCursor`.")] = None,
                    status: Annotated[list[str] | None, QueryParameter(
                        required=False, description="Any of active, suspended, deleted "
                                                    "(repeatable); default active and suspended.")] = None,
                    ) -> OrganizationPage:
        require(request, "organizations", "read")
        statuses = status or ["active", "suspended"]
        if any(s not in STATUSES for s in statuses):
            raise ApiException(400, "invalid_parameter", reason="status_filter_invalid",
                               params={"allowed": ", ".join(STATUSES)})
        after_pos = cursor_position(cursor) if cursor else None
        before_pos = cursor_position(before) if before else None
        await caught_up(container)
        async with reading(container, request) as conn:
            rows, more, total = await queries.page(
                conn, after=after_pos, before=before_pos, limit=limit, statuses=statuses,
                only=caller.organization_id if caller else None)
        first, last = (rows[0], rows[-1]) if rows else (None, None)
        backward = before_pos is not None
        has_next = more if not backward else True
        has_prev = (after_pos is not None) if not backward else more
        visible = [v for v in (shaped(request, "organizations", out(r)) for r in rows) if v]
        return OrganizationPage(data=visible, pagination=PaginationInfo(
            limit=limit, total=total, total_pages=math.ceil(total / limit),
            has_next=bool(last) and has_next, has_prev=bool(first) and has_prev,
            next_cursor=paging.encode_cursor(last["created_position"])
            if last and has_next else None,
            prev_cursor=paging.encode_cursor(first["created_position"])
            if first and has_prev else None))

    @get("/{organization_id:uuid}/history", summary="The organization's events, oldest first",
         **docs.read(History, *docs.TARGET, example=ex.HISTORY))
    async def history(self, request: Request, organization_id: OrgId,
                      container: Services) -> History:
        require(request, "organizations", "read", organization_id)
        envelopes = await to_thread.run_sync(audit.history, container.store, organization_id)
        if not envelopes:
            raise ApiException(404, "not_found", "organization not found",
                               reason="organization_not_found")
        return History(organization_id=organization_id, data=[
            HistoryItem(event_id=e.event_id, type=e.event_type, version=e.version,
                        occurred_at=e.occurred_at, actor=e.actor, request_id=e.request_id,
                        correlation_id=e.correlation_id, causation_id=e.causation_id,
                        data={k: v for k, v in msgspec.to_builtins(e.event).items()
                              if k != "type"})
            for e in envelopes])


async def _run(request: Request, c: Container, ctx: Context, expected: int | None,
               organization_id: UUID, commands: Any) -> Response[CommandAccepted]:
    action: Action = "delete" if isinstance(commands, DeleteOrganization) else "update"
    require(request, "organizations", action, organization_id)
    return await run_command(request, c, lambda seal: c.organizations.handle(
        ctx, organization_id, commands, expected, seal=seal))


async def _current(c: Container, organization_id: UUID, caught_up: Wait,
                   ) -> OrganizationOut | None:
    """The organization from this process's cache (infra/orgcache.py), evicted by the
    projector's announcements; with ``min_position``, a cached row older than it is read again
    once the projection has caught up. ``require`` has already checked that the caller may read
    this id, which is the whole of the tenant wall for a read by primary key."""
    policy = await c.org_cache.get(organization_id)
    if policy is None or not caught_up.satisfied_by(policy.row["position"]):
        await caught_up(c)
        policy = await c.org_cache.at_least(organization_id, caught_up.min_position or 0)
    return out(policy.row) if policy is not None else None


async def _as_of(c: Container, organization_id: UUID, raw: str) -> OrganizationOut | None:
    version, at = parse_as_of(raw)
    past = await to_thread.run_sync(
        lambda: audit.organization_as_of(c.store, organization_id, version=version, at=at))
    if past is None:
        return None
    s = past.state
    return OrganizationOut(id=organization_id, name=s.name, slug=s.slug, plan=s.plan,
                           settings=s.settings, status=s.status, version=past.version,
                           created_at=past.created_at, updated_at=past.updated_at,
                           deleted_at=past.deleted_at, rate_limit=s.rate_limit,
                           quota_policy=s.quota_policy)
