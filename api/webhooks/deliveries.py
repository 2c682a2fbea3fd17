"""Webhook delivery routes: list an organization's deliveries (by endpoint, event type and
status, cursor-paged), read one with its attempts, and ask for one to be delivered again."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from anyio import to_thread
from litestar import Controller, Request, get, post
from litestar.params import FromPath, QueryParameter

from api.apikeys.routes import no_idempotency
from api.auth.access import Tenant, organization_for, principal_of, require
from api.auth.tenancy import read, read_one
from api.platform import openapi as docs
from api.platform.dependencies import CaughtUp, Ctx, Services, waits_for
from api.platform.errors import ApiException
from api.platform.paging import cursor_position, pagination
from api.platform.schemas import CommandAccepted
from api.webhooks.routes import OrgParam
from api.webhooks.schemas import AttemptOut, DeliveryOut, DeliveryPage, Status
from domain import limits as lim
from domain.webhook_endpoint.commands import Redeliver
from infra.container import Container
from projections import webhook_queries as queries
from projections.webhook_tables import DELIVERIES

RESOURCE = "webhooks"
DeliveryId = FromPath[UUID]


def out(row: dict[str, Any]) -> DeliveryOut:
    attempts = row.get("attempt_list")
    return DeliveryOut(
        id=row["id"], webhook_endpoint_id=row["endpoint_id"], event_id=row["event_id"],
        event_type=row["event_type"], stream_id=row["stream_id"],
        stream_version=row["stream_version"], position=row["position"],
        attempt_number=row["attempts"], status=row["status"],
        response_code=row["response_code"], response_body=row["response_body"],
        error_message=row["error"], delivered_at=row["delivered_at"],
        next_retry_at=row["next_retry_at"] if row["status"] in ("pending", "failed") else None,
        created_at=row["created_at"], attempts=None if attempts is None else [
            AttemptOut(attempt_number=a["attempt"], status=a["status"],
                       response_code=a["response_code"], response_body=a["response_body"],
                       error_message=a["error"], started_at=a["started_at"],
                       duration_ms=a["duration_ms"]) for a in attempts])


class WebhookDeliveryController(Controller):
    path = "/v1/webhook-deliveries"
    tags = ["webhooks"]
    dependencies = waits_for("webhook_deliveries")

    @get("/", summary="List webhook deliveries (newest attempt's outcome on each)",
         **docs.read(DeliveryPage, "invalid_parameter", "organization_id_required",
                     "permission_denied", "cursor_invalid", "not_caught_up"))
    async def list_(self, request: Request, container: Services, tenant: Tenant,
                    caught_up: CaughtUp, organization_id: OrgParam = None,
                    endpoint_id: Annotated[UUID | None, QueryParameter(required=False)] = None,
                    event_type: Annotated[str | None, QueryParameter(
                        max_length=lim.MAX_QUERY_TEXT, required=False)] = None,
                    status: Annotated[Status | None, QueryParameter(required=False)] = None,
                    limit: Annotated[int, QueryParameter(
                        ge=1, le=lim.MAX_PAGE_SIZE)] = lim.DEFAULT_PAGE_SIZE,
                    cursor: Annotated[str | None, QueryParameter(
                        max_length=lim.MAX_CURSOR)] = None) -> DeliveryPage:
        org_id = organization_for(tenant, organization_id)
        require(request, RESOURCE, "read", org_id)
        after = cursor_position(cursor) if cursor else None
        await caught_up(container)
        rows, more, total = await read(container, request, lambda conn: queries.deliveries(
            conn, org_id, limit=limit, after=after, endpoint_id=endpoint_id,
            event_type=event_type, status=status))
        return DeliveryPage(data=[out(r) for r in rows],
                     pagination=pagination(rows, more, total, limit, after))

    @get("/{delivery_id:uuid}", summary="One webhook delivery with every attempt",
         **docs.read(DeliveryOut, "invalid_parameter", "webhook_delivery_not_found",
                     "permission_denied", "not_caught_up"))
    async def read(self, request: Request, delivery_id: DeliveryId, container: Services,
                   caught_up: CaughtUp) -> DeliveryOut:
        require(request, RESOURCE, "read")
        await caught_up(container)
        rows = await read(container, request, lambda conn: queries.delivery(conn, delivery_id))
        if not rows:
            raise await missing(container, request, delivery_id)
        return out(rows[0])

    @post("/{delivery_id:uuid}/redeliver", status_code=202,
          summary="Deliver this delivery's event again, as a new delivery",
          **docs.documented(202, CommandAccepted, "webhook_delivery_not_found",
                            "webhook_endpoint_not_found", "permission_denied",
                            "idempotency_not_supported"))
    async def redeliver(self, request: Request, delivery_id: DeliveryId, container: Services,
                        ctx: Ctx, tenant: Tenant) -> CommandAccepted:
        no_idempotency(request)
        require(request, RESOURCE, "update")
        rows = await read(container, request, lambda conn: queries.delivery(conn, delivery_id))
        if not rows:
            raise await missing(container, request, delivery_id)
        endpoint_id = rows[0]["endpoint_id"]
        result = await to_thread.run_sync(lambda: container.webhooks.handle(
            ctx, tenant, endpoint_id, Redeliver(delivery_id=delivery_id)))
        return CommandAccepted(id=endpoint_id, version=result.version, position=result.position)


async def missing(container: Container, request: Request, delivery_id: UUID) -> ApiException:
    """The 404 for a delivery; audited as a denial when it is another organization's (the
    tenant wall hid it, so its owner is asked for without the wall)."""
    principal = principal_of(request)
    foreign = False
    if principal is not None:
        row = await read_one(container.pool, None, f"SELECT organization_id FROM {DELIVERIES}"
                             " WHERE id = %s", (delivery_id,))
        foreign = row is not None and row["organization_id"] != principal.organization_id
    return ApiException(404, "not_found", reason="webhook_delivery_not_found", audit=foreign)
