"""Resource routes under /v1/resources/{resource_type}: create, upsert by external key, read
(now, at a version or as of a time), list, replace, merge-patch, delete, archive, restore, and
versions. Reads come from the resources read model (the past from the event store); the
permission is `resources`, or `resources:<type>` for one type."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from anyio import to_thread
from litestar import Controller, Request, Response, delete, get, patch, post, put
from litestar.params import Body, FromPath, JSONBody, QueryParameter
from psycopg import AsyncConnection

from api.auth.access import Tenant, organization_for, require, shaped, tenant_of
from api.auth.tenancy import not_found, read, read_one
from api.platform import openapi as docs
from api.platform.dependencies import CaughtUp, Ctx, Expected, Services, caught_up, waits_for
from api.platform.errors import ApiException
from api.platform.idempotency import run_command
from api.platform.paging import cursor_position
from api.platform.schemas import CommandAccepted, PaginationInfo
from api.resources.expand import expanded
from api.resources.requests import (
    MERGE_PATCH,
    as_of_time,
    content_of,
    expansions,
    merge_patch_only,
    patch_of,
)
from api.resources.schemas import (
    ResourceBody,
    ResourceOut,
    ResourcePatchBody,
    VersionOut,
    VersionPage,
)
from api.resources.views import from_past, from_row
from commands import history
from commands.history import Past
from commands.runner import Context
from domain import limits as lim
from domain.permissions import Action
from domain.resource import decider as res
from domain.resource.commands import ArchiveResource, DeleteResource, RestoreResource
from domain.resource.decider import Resource
from infra.container import Container
from projections import paging
from projections import resource_queries as queries
from projections.resources import actor_of

TypeName = FromPath[Annotated[str, QueryParameter(max_length=lim.MAX_TYPE_NAME)]]
ResourceId = FromPath[UUID]
ExternalKey = FromPath[Annotated[str, QueryParameter(max_length=lim.MAX_EXTERNAL_KEY)]]
OrgParam = Annotated[UUID | None, QueryParameter(
    required=False, description="The operator's choice of organization (a caller's own is"
                                " implied)")]
Limit = Annotated[int, QueryParameter(ge=1, le=lim.MAX_PAGE_SIZE)]
Cursor = Annotated[str | None, QueryParameter(max_length=lim.MAX_CURSOR)]
TARGET = ("resource_not_found", "organization_id_required", "permission_denied")
WRITTEN = ("resource_type_not_found", "data_invalid", "data_too_large", "data_too_deep",
           "relationship_unknown", "relationship_cycle", "relationship_too_deep",
           "resource_deleted", "resource_archived")
STATUS = ("active", "archived", "deleted", "any")


class ResourceController(Controller):
    path = "/v1/resources/{resource_type:str}"
    tags = ["resources"]
    dependencies = waits_for("resources")

    @post("/", status_code=201, summary="Create a resource of a type",
          **docs.command(201, *docs.BODY, *WRITTEN, "organization_id_required",
                         "organization_not_found", "permission_denied", example=None,
                         creates=True))
    async def create(self, request: Request, resource_type: TypeName, container: Services, ctx: Ctx,
                     tenant: Tenant, data: JSONBody[ResourceBody],
                     organization_id: OrgParam = None) -> Response[CommandAccepted]:
        org_id = organization(request, tenant, organization_id, resource_type, "create")
        content, c = content_of(data), container
        return await run_command(request, c, lambda seal: c.resources.create(
            ctx, org_id, resource_type, content, seal=seal), status=201,
            location=f"/v1/resources/{resource_type}")

    @put("/by-key/{key:str}", summary="Create or replace the resource an external key names",
         **docs.command(200, *docs.BODY, *WRITTEN, *docs.VERSIONED, "external_key_invalid",
                        "organization_id_required", "organization_not_found",
                        "permission_denied", example=None))
    async def upsert(self, request: Request, resource_type: TypeName, key: ExternalKey,
                     container: Services, ctx: Ctx, expected: Expected, tenant: Tenant,
                     data: JSONBody[ResourceBody],
                     organization_id: OrgParam = None) -> Response[CommandAccepted]:
        org_id = organization(request, tenant, organization_id, resource_type, "update")
        content, c = content_of(data), container
        return await run_command(request, c, lambda seal: c.resources.upsert(
            ctx, org_id, resource_type, key, content, expected_version=expected, seal=seal),
            location=f"/v1/resources/{resource_type}")

    @get("/{resource_id:uuid}", summary="One resource: now, at a version, or as of a time",
         **docs.read(ResourceOut, "invalid_parameter", "as_of_time_invalid", *TARGET,
                     "not_caught_up", etag=True))
    async def read(self, request: Request, resource_type: TypeName, resource_id: ResourceId,
                   container: Services, tenant: Tenant, caught_up: CaughtUp, organization_id: OrgParam = None,
                   version: Annotated[int | None, QueryParameter(
                       ge=1, le=2**63 - 1, required=False,
                       description="The resource at this version, folded from its events")
                   ] = None,
                   as_of: Annotated[str | None, QueryParameter(
                       required=False, max_length=lim.MAX_TIMESTAMP_TEXT,
                       description="The resource as of this RFC 3339 time, folded from its"
                                   " events")] = None,
                   expand: Annotated[str | None, QueryParameter(
                       required=False, max_length=lim.MAX_QUERY_VALUE,
                       description="relationships.<type>[.<type>…]: inline related resources"
                   )] = None) -> Response[Any]:
        org_id = organization(request, tenant, organization_id, resource_type, "read")
        if version is not None or as_of is not None:
            past = await _past(container, org_id, resource_type, resource_id, version,
                               as_of_time(as_of))
            found = from_past(resource_id, past) if past else None
        else:
            await caught_up(container)
            row = await read_one(container.pool, tenant_of(request), queries.GET,
                                 (resource_id, org_id, resource_type))
            found = from_row(row) if row else None
        seen = shaped(request, f"resources:{resource_type}", found) if found else None
        if found is None or seen is None:
            raise await not_found(container, request, resource_id, "resource_not_found")
        if paths := expansions(expand):
            [seen] = await read(container, request, lambda conn: expanded(
                conn, request, org_id, [seen], paths))
        return Response(seen, headers={"ETag": f'"{found.version}"'})

    @get("/{resource_id:uuid}/versions", summary="The resource's versions: which event, who, when",
         **docs.read(VersionPage, "invalid_parameter", "cursor_invalid", *TARGET))
    async def versions(self, request: Request, resource_type: TypeName, resource_id: ResourceId,
                       container: Services, tenant: Tenant, organization_id: OrgParam = None,
                       limit: Limit = lim.DEFAULT_PAGE_SIZE, cursor: Cursor = None,
                       ) -> VersionPage:
        org_id = organization(request, tenant, organization_id, resource_type, "read")
        after = cursor_position(cursor) if cursor else 0
        past = await _past(container, org_id, resource_type, resource_id)
        if past is None or shaped(request, f"resources:{resource_type}",
                                  from_past(resource_id, past)) is None:
            raise await not_found(container, request, resource_id, "resource_not_found")
        envelopes = past.envelopes
        shown = [e for e in envelopes if e.version > after][:limit]
        more = bool(shown) and shown[-1].version < envelopes[-1].version
        return VersionPage(data=[VersionOut(version=e.version, event_type=e.event_type,
                                            actor=actor_of(e), occurred_at=e.occurred_at)
                                 for e in shown],
                           pagination=PaginationInfo(
            limit=limit, total=len(envelopes), total_pages=math.ceil(len(envelopes) / limit),
            has_next=more, has_prev=after > 0,
            next_cursor=paging.encode_cursor(shown[-1].version) if more else None))

    @put("/{resource_id:uuid}", summary="Replace a resource's data, metadata and relationships",
         **docs.command(200, *docs.BODY, *TARGET, *WRITTEN, *docs.VERSIONED, example=None))
    async def replace(self, request: Request, resource_type: TypeName, resource_id: ResourceId,
                      container: Services, ctx: Ctx, expected: Expected, tenant: Tenant,
                      data: JSONBody[ResourceBody],
                      organization_id: OrgParam = None) -> Response[CommandAccepted]:
        org_id = organization(request, tenant, organization_id, resource_type, "update")
        content, c = content_of(data), container
        return await run_command(request, c, lambda seal: c.resources.replace(
            ctx, org_id, resource_type, resource_id, content, expected_version=expected, seal=seal))

    @patch("/{resource_id:uuid}", guards=[merge_patch_only],
           summary="Change a resource by a JSON merge patch (RFC 7396)",
           **docs.command(200, *docs.BODY, *TARGET, *WRITTEN, *docs.VERSIONED,
                          "merge_patch_required", "patch_invalid", example=None))
    async def merge(self, request: Request, resource_type: TypeName, resource_id: ResourceId,
                    container: Services, ctx: Ctx, expected: Expected, tenant: Tenant,
                    data: Annotated[ResourcePatchBody, Body(media_type=MERGE_PATCH)],
                    organization_id: OrgParam = None) -> Response[CommandAccepted]:
        org_id = organization(request, tenant, organization_id, resource_type, "update")
        merge, c = patch_of(data), container
        return await run_command(request, c, lambda seal: c.resources.patch(
            ctx, org_id, resource_type, resource_id, merge, expected_version=expected, seal=seal))

    @delete("/{resource_id:uuid}", status_code=200,
            summary="Delete a resource (soft: status deleted); with cascade, its dependents",
            **docs.command(200, *TARGET, *docs.VERSIONED, "resource_has_dependents",
                           "cascade_too_large", "not_caught_up", example=None))
    async def delete_(self, request: Request, resource_type: TypeName, resource_id: ResourceId,
                      container: Services, ctx: Ctx, expected: Expected, tenant: Tenant,
                      organization_id: OrgParam = None, cascade: Annotated[bool, QueryParameter(
                          description="Also delete the resources that depend on it (a"
                                      " `dependency` relationship), transitively")] = False,
                      ) -> Response[CommandAccepted]:
        org_id = organization(request, tenant, organization_id, resource_type, "delete")
        found = await depending(container, request, org_id, resource_id)
        if found and not cascade:
            raise ApiException(409, "conflict", reason="resource_has_dependents",
                               params={"count": len(found)})
        if len(found) > lim.MAX_CASCADE:
            raise ApiException(409, "conflict", reason="cascade_too_large",
                               params={"max": lim.MAX_CASCADE})
        c = container
        return await run_command(request, c, lambda seal: c.resources.delete(
            ctx, org_id, resource_type, resource_id, tuple(found), expected_version=expected,
            seal=seal))

    @post("/{resource_id:uuid}/archive", status_code=200, summary="Archive a resource",
          **docs.command(200, *TARGET, *docs.VERSIONED, "resource_deleted", example=None,
                         optional_body=True))
    async def archive(self, request: Request, resource_type: TypeName, resource_id: ResourceId,
                      container: Services, ctx: Ctx, expected: Expected, tenant: Tenant,
                      organization_id: OrgParam = None) -> Response[CommandAccepted]:
        org_id = organization(request, tenant, organization_id, resource_type, "update")
        return await _transition(request, container, ctx, expected, org_id, resource_type, resource_id,
                                 ArchiveResource())

    @post("/{resource_id:uuid}/restore", status_code=200,
          summary="Restore an archived or deleted resource to active",
          **docs.command(200, *TARGET, *docs.VERSIONED, example=None, optional_body=True))
    async def restore(self, request: Request, resource_type: TypeName, resource_id: ResourceId,
                      container: Services, ctx: Ctx, expected: Expected, tenant: Tenant,
                      organization_id: OrgParam = None) -> Response[CommandAccepted]:
        org_id = organization(request, tenant, organization_id, resource_type, "update")
        return await _transition(request, container, ctx, expected, org_id, resource_type, resource_id,
                                 RestoreResource())


def organization(request: Request, tenant: UUID | None, given: UUID | None,
                  resource_type: str, action: Action) -> UUID:
    """The organization the route acts on (another one's is a 404, recorded as a denial),
    once the caller may ``action`` resources of the type."""
    org_id = organization_for(tenant, given)
    require(request, f"resources:{resource_type}", action, org_id)
    return org_id


async def depending(c: Container, request: Request, org_id: UUID,
                    resource_id: UUID) -> list[UUID]:
    """Who depends on the resource, from the read model once it holds every write committed
    before this request (a bounded wait): a dependent written earlier is always seen."""
    return (await dependents_of(c, request, org_id, [resource_id]))[resource_id]


async def dependents_of(c: Container, request: Request, org_id: UUID,
                        resource_ids: Sequence[UUID]) -> dict[UUID, list[UUID]]:
    """``depending`` for each of ``resource_ids``, after one wait and in one read."""
    head = await to_thread.run_sync(c.store.head)
    await caught_up(c, head, "resources")

    async def each(conn: AsyncConnection) -> dict[UUID, list[UUID]]:
        return {i: await queries.dependents(conn, org_id, i) for i in resource_ids}

    return await read(c, request, each)


async def _transition(request: Request, c: Container, ctx: Context, expected: int | None,
                      org_id: UUID, resource_type: str, resource_id: UUID,
                      command: DeleteResource | ArchiveResource | RestoreResource,
                      ) -> Response[CommandAccepted]:
    return await run_command(request, c, lambda seal: c.resources.transition(
        ctx, org_id, resource_type, resource_id, command, expected_version=expected, seal=seal))


async def _past(c: Container, org_id: UUID, resource_type: str, resource_id: UUID,
                version: int | None = None, at: datetime | None = None,
                ) -> Past[Resource] | None:
    """The resource folded from its events up to ``version`` or ``at`` (None: not this
    organization's resource of this type, or it did not exist then)."""
    past = await to_thread.run_sync(lambda: history.as_of(
        c.store, res.DECIDER, resource_id, version=version, at=at))
    if past is None or past.state.organization_id != org_id or (
            past.state.resource_type != resource_type) or (
            version is not None and past.version != version):  # a version not written yet
        return None
    return past
