"""The webhook event route: the seed's WebhookEvent, as every endpoint received it (the signed
body), with its deliveries, each with every attempt. The pushed body cannot carry them: it is
signed before its first attempt exists, and stays the same bytes for every retry."""

from __future__ import annotations

from uuid import UUID

import msgspec
from litestar import Controller, Request, get
from litestar.params import FromPath

from api.auth.access import principal_of, require
from api.auth.tenancy import read, read_one
from api.platform import openapi as docs
from api.platform.dependencies import CaughtUp, Services, waits_for
from api.platform.errors import ApiException
from api.webhooks.deliveries import RESOURCE, out
from api.webhooks.schemas import WebhookEventOut
from domain import limits as lim
from infra.container import Container
from projections import webhook_queries as queries
from projections.webhook_tables import DELIVERIES

EventId = FromPath[UUID]


class WebhookEventController(Controller):
    path = "/v1/webhook-events"
    tags = ["webhooks"]
    dependencies = waits_for("webhook_deliveries")

    @get("/{event_id:uuid}", summary="A webhook event (the body sent) with every delivery and"
         f" attempt (at most {lim.MAX_PAGE_SIZE} deliveries)", **docs.read(
             WebhookEventOut, "invalid_parameter", "not_found", "permission_denied",
             "not_caught_up"))
    async def read(self, request: Request, event_id: EventId, container: Services,
                   caught_up: CaughtUp) -> WebhookEventOut:
        require(request, RESOURCE, "read")
        await caught_up(container)
        rows = await read(container, request, lambda conn: queries.event_deliveries(
            conn, event_id, lim.MAX_PAGE_SIZE))
        if not rows:
            raise await missing(container, request, event_id)
        sent = msgspec.json.decode(rows[0]["body"], type=WebhookEventOut)
        return msgspec.structs.replace(sent, deliveries=[out(r) for r in rows])


async def missing(container: Container, request: Request, event_id: UUID) -> ApiException:
    """The 404; audited as a denial when the event's deliveries are another organization's."""
    principal = principal_of(request)
    foreign = False
    if principal is not None:
        row = await read_one(container.pool, None, f"SELECT organization_id FROM {DELIVERIES}"
                             " WHERE event_id = %s LIMIT 1", (event_id,))
        foreign = row is not None and row["organization_id"] != principal.organization_id
    return ApiException(404, "not_found", audit=foreign)
