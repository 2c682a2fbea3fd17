"""Webhook endpoint routes: register (the secret is shown once), list, read, change (and
enable or disable), delete, roll the secret, send a test event, replay from a position or a
time. Reads come from the webhook_endpoints read model; the permission is `webhooks`."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any
from uuid import UUID

from anyio import to_thread
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.params import FromPath, JSONBody, QueryParameter

from api.apikeys.routes import no_idempotency
from api.auth.access import Tenant, organization_for, require
from api.auth.tenancy import not_found, read
from api.platform import openapi as docs
from api.platform.dependencies import CaughtUp, Ctx, Services, waits_for
from api.platform.paging import cursor_position, pagination
from api.platform.schemas import CommandAccepted
from api.webhooks.schemas import (
    CreateEndpointBody,
    EndpointOut,
    EndpointPage,
    ReplayBody,
    RollSecretBody,
    SecretIssued,
    UpdateEndpointBody,
)
from commands.runner import Result
from domain import limits as lim
from domain.webhook_endpoint.commands import (
    DeleteEndpoint,
    RegisterEndpoint,
    Replay,
    SendTest,
    UpdateEndpoint,
)
from infra.container import Container
from projections import webhook_queries as queries

RESOURCE = "webhooks"
EndpointId = FromPath[UUID]
OrgParam = Annotated[UUID | None, QueryParameter(
    required=False, description="The operator's choice of organization (a caller's own is"
                                " implied)")]
URL_ERRORS = ("webhook_url_invalid", "webhook_url_forbidden", "webhook_event_types_invalid",
              "webhook_description_too_long", "metadata_too_large")
TARGET = ("webhook_endpoint_not_found", "permission_denied", "idempotency_not_supported")


def out(row: dict[str, Any]) -> EndpointOut:
    return EndpointOut(
        id=row["id"], organization_id=row["organization_id"], url=row["url"],
        event_types=row["event_types"], description=row["description"],
        metadata=row["metadata"], is_active=row["status"] == "active", status=row["status"],
        disabled_reason=row["disabled_reason"], failure_count=row["failure_count"],
        last_success_at=row["last_success_at"], last_failure_at=row["last_failure_at"],
        secret_rolled_at=row["secret_rolled_at"], version=row["version"],
        created_at=row["created_at"], updated_at=row["updated_at"])


def accepted(endpoint_id: UUID, result: Result) -> CommandAccepted:
    return CommandAccepted(id=endpoint_id, version=result.version, position=result.position)


class WebhookEndpointController(Controller):
    path = "/v1/webhook-endpoints"
    tags = ["webhooks"]
    dependencies = waits_for("webhook_endpoints")

    @post("/", status_code=201, summary="Register a webhook endpoint (the secret is shown once)",
          **docs.documented(201, SecretIssued, *docs.BODY, "json_too_deep", "payload_too_large",
                            "event_too_large", "organization_id_required",
                            "organization_not_found", "permission_denied",
                            "idempotency_not_supported", *URL_ERRORS,
                            success_headers=("Location",)))
    async def create(self, request: Request, container: Services, ctx: Ctx, tenant: Tenant,
                     data: JSONBody[CreateEndpointBody]) -> Response[SecretIssued]:
        no_idempotency(request)
        org_id = organization_for(tenant, data.organization_id)
        require(request, RESOURCE, "create", org_id)
        command = RegisterEndpoint(
            organization_id=org_id, url=data.url, event_types=tuple(data.event_types),
            description=data.description, metadata=data.metadata, active=data.active,
            sealed_secret="")
        issued = await to_thread.run_sync(lambda: container.webhooks.register(ctx, command))
        new_id = issued.result.stream_id
        return Response(SecretIssued(id=new_id, secret=issued.secret,
                                     version=issued.result.version,
                                     position=issued.result.position), status_code=201,
                        headers={"Location": f"{self.path}/{new_id}"})

    @get("/", summary="List webhook endpoints (never their secrets)",
         **docs.read(EndpointPage, "invalid_parameter", "organization_id_required",
                     "permission_denied", "cursor_invalid", "not_caught_up"))
    async def list_(self, request: Request, container: Services, tenant: Tenant,
                    caught_up: CaughtUp, organization_id: OrgParam = None,
                    limit: Annotated[int, QueryParameter(
                        ge=1, le=lim.MAX_PAGE_SIZE)] = lim.DEFAULT_PAGE_SIZE,
                    cursor: Annotated[str | None, QueryParameter(
                        max_length=lim.MAX_CURSOR)] = None) -> EndpointPage:
        org_id = organization_for(tenant, organization_id)
        require(request, RESOURCE, "read", org_id)
        after = cursor_position(cursor) if cursor else None
        await caught_up(container)
        rows, more, total = await read(container, request, lambda conn: queries.endpoints(
            conn, org_id, limit=limit, after=after))
        return EndpointPage(data=[out(r) for r in rows],
                     pagination=pagination(rows, more, total, limit, after))

    @get("/{endpoint_id:uuid}", summary="One webhook endpoint (never its secret)",
         **docs.read(EndpointOut, "invalid_parameter", *TARGET, "not_caught_up"))
    async def read(self, request: Request, endpoint_id: EndpointId, container: Services,
                   tenant: Tenant, caught_up: CaughtUp) -> EndpointOut:
        await caught_up(container)
        rows = await read(container, request, lambda conn: queries.endpoint(conn, endpoint_id))
        if not rows or tenant not in (None, rows[0]["organization_id"]):
            raise await not_found(container, request, endpoint_id, "webhook_endpoint_not_found")
        require(request, RESOURCE, "read", rows[0]["organization_id"])
        return out(rows[0])

    @patch("/{endpoint_id:uuid}", summary="Change an endpoint's url, event types, description or"
           " metadata, or enable or disable it (`active`)", **docs.documented(
               200, CommandAccepted, *docs.BODY, "json_too_deep", "payload_too_large",
               *TARGET, *URL_ERRORS))
    async def update(self, request: Request, endpoint_id: EndpointId, container: Services,
                     ctx: Ctx, tenant: Tenant, data: JSONBody[UpdateEndpointBody],
                     ) -> CommandAccepted:
        no_idempotency(request)
        require(request, RESOURCE, "update")
        command = UpdateEndpoint(
            url=data.url, description=data.description, metadata=data.metadata,
            event_types=None if data.event_types is None else tuple(data.event_types))
        return accepted(endpoint_id, await to_thread.run_sync(lambda: container.webhooks.update(
            ctx, tenant, endpoint_id, command, data.active)))

    @delete("/{endpoint_id:uuid}", status_code=200, summary="Delete a webhook endpoint",
            **docs.documented(200, CommandAccepted, *TARGET))
    async def delete(self, request: Request, endpoint_id: EndpointId, container: Services,
                     ctx: Ctx, tenant: Tenant) -> CommandAccepted:
        no_idempotency(request)
        require(request, RESOURCE, "delete")
        return accepted(endpoint_id, await to_thread.run_sync(lambda: container.webhooks.handle(
            ctx, tenant, endpoint_id, DeleteEndpoint())))

    @post("/{endpoint_id:uuid}/roll-secret", status_code=200,
          summary="A new signing secret; the previous one also signs for the grace period",
          **docs.documented(200, SecretIssued, *TARGET, "validation_failed", optional_body=True))
    async def roll_secret(self, request: Request, endpoint_id: EndpointId, container: Services,
                          ctx: Ctx, tenant: Tenant,
                          data: JSONBody[RollSecretBody | None] = None) -> SecretIssued:
        no_idempotency(request)
        require(request, RESOURCE, "update")
        seconds = data.grace_seconds if data and data.grace_seconds is not None else (
            container.settings.webhook_secret_grace_s)
        issued = await to_thread.run_sync(lambda: container.webhooks.roll_secret(
            ctx, tenant, endpoint_id, timedelta(seconds=seconds)))
        return SecretIssued(id=endpoint_id, secret=issued.secret, version=issued.result.version,
                            position=issued.result.position)

    @post("/{endpoint_id:uuid}/test", status_code=202,
          summary="Send the endpoint one `webhook.test` event",
          **docs.documented(202, CommandAccepted, *TARGET))
    async def test(self, request: Request, endpoint_id: EndpointId, container: Services,
                   ctx: Ctx, tenant: Tenant) -> CommandAccepted:
        no_idempotency(request)
        require(request, RESOURCE, "update")
        command = SendTest(test_id=ctx.new_id())
        return accepted(endpoint_id, await _handle(container, ctx, tenant, endpoint_id, command))

    @post("/{endpoint_id:uuid}/replay", status_code=202,
          summary="Send the organization's matching events again from a store position or a"
                  " time on (delivered and failed alike, however old)",
          **docs.documented(202, CommandAccepted, *docs.BODY, *TARGET, "webhook_replay_invalid"))
    async def replay(self, request: Request, endpoint_id: EndpointId, container: Services,
                     ctx: Ctx, tenant: Tenant, data: JSONBody[ReplayBody]) -> CommandAccepted:
        no_idempotency(request)
        require(request, RESOURCE, "update")
        command = Replay(from_position=data.from_position, from_time=data.from_time)
        return accepted(endpoint_id, await _handle(container, ctx, tenant, endpoint_id, command))


async def _handle(c: Container, ctx: Any, tenant: UUID | None, endpoint_id: UUID,
                  command: SendTest | Replay) -> Result:
    return await to_thread.run_sync(lambda: c.webhooks.handle(ctx, tenant, endpoint_id, command))
