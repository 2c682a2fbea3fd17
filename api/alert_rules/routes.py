"""Alert rule routes: create, list, read, update and delete an organization's rules (the
operator's without an organization are system-wide). Reads come from the alert_rules read
model, with the evaluator's last look; the permission is `alerts`."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.params import FromPath, JSONBody, QueryParameter
from msgspec import UNSET

from api.alert_rules.schemas import (
    AlertRuleOut,
    AlertRulePage,
    CreateAlertRuleBody,
    UpdateAlertRuleBody,
)
from api.auth.access import Tenant, require
from api.auth.tenancy import not_found, read
from api.platform import openapi as docs
from api.platform.dependencies import CaughtUp, Ctx, Expected, Services, waits_for
from api.platform.idempotency import run_command
from api.platform.paging import cursor_position, pagination
from api.platform.schemas import CommandAccepted
from domain import limits as lim
from domain.alert_rule.commands import CreateAlertRule, DeleteAlertRule, UpdateAlertRule
from projections import alert_rule_queries as queries

RESOURCE = "alerts"
RuleId = FromPath[UUID]
OrgParam = Annotated[UUID | None, QueryParameter(
    required=False, description="The operator's choice of organization (a caller's own is"
                                " implied)")]
TARGET = ("alert_rule_not_found", "permission_denied")
DEFINITION = ("alert_rule_name_invalid", "alert_rule_window_invalid",
              "alert_rule_threshold_invalid", "alert_rule_route_invalid")


def out(row: dict[str, Any]) -> AlertRuleOut:
    return AlertRuleOut(**{name: row[name] for name in AlertRuleOut.__struct_fields__})


class AlertRuleController(Controller):
    path = "/v1/alert-rules"
    tags = ["alerts"]
    dependencies = waits_for("alert_rules")

    @post("/", status_code=201, summary="Create an alert rule (a threshold on a metric over a"
          " window)", **docs.command(201, *docs.BODY, "organization_not_found",
                                     "permission_denied", *DEFINITION, example=None,
                                     creates=True))
    async def create(self, request: Request, container: Services, ctx: Ctx, tenant: Tenant,
                     data: JSONBody[CreateAlertRuleBody]) -> Response[CommandAccepted]:
        org_id = data.organization_id or tenant
        require(request, RESOURCE, "create", org_id)
        command = CreateAlertRule(
            organization_id=org_id, name=data.name, metric=data.metric,
            window_seconds=data.window_seconds, comparison=data.comparison,
            threshold=data.threshold, route=data.route, include_4xx=data.include_4xx,
            enabled=data.enabled)
        c = container
        return await run_command(request, c, lambda seal: c.alert_rules.create(
            ctx, command, seal=seal), status=201, location=self.path)

    @get("/", summary="List alert rules with their state (cursor pagination, creation order)",
         **docs.read(AlertRulePage, "invalid_parameter", "permission_denied", "cursor_invalid",
                     "not_caught_up"))
    async def list_(self, request: Request, container: Services, tenant: Tenant,
                    caught_up: CaughtUp, organization_id: OrgParam = None,
                    limit: Annotated[int, QueryParameter(
                        ge=1, le=lim.MAX_PAGE_SIZE)] = lim.DEFAULT_PAGE_SIZE,
                    cursor: Annotated[str | None, QueryParameter(
                        max_length=lim.MAX_CURSOR)] = None,
                    ) -> AlertRulePage:
        org_id = organization_id or tenant
        require(request, RESOURCE, "read", org_id)
        after = cursor_position(cursor) if cursor else None
        await caught_up(container)
        rows, more, total = await read(container, request, lambda conn: queries.page(
            conn, org_id, limit=limit, after=after))
        return AlertRulePage(data=[out(r) for r in rows],
                      pagination=pagination(rows, more, total, limit, after))

    @get("/{rule_id:uuid}", summary="One alert rule: firing or ok, its last evaluation",
         **docs.read(AlertRuleOut, "invalid_parameter", *TARGET, "not_caught_up", etag=True))
    async def read(self, request: Request, rule_id: RuleId, container: Services,
                   caught_up: CaughtUp) -> Response[AlertRuleOut]:
        require(request, RESOURCE, "read")
        await caught_up(container)
        rows = await read(container, request, lambda conn: queries.with_id(conn, rule_id))
        if not rows:
            raise await not_found(container, request, rule_id, "alert_rule_not_found")
        found = out(rows[0])
        return Response(found, headers={"ETag": f'"{found.version}"'})

    @patch("/{rule_id:uuid}", summary="Change an alert rule (the fields given)",
           **docs.command(200, *docs.BODY, *TARGET, *docs.VERSIONED, *DEFINITION,
                          example=None))
    async def update(self, request: Request, rule_id: RuleId, container: Services, ctx: Ctx,
                     expected: Expected, tenant: Tenant,
                     data: JSONBody[UpdateAlertRuleBody]) -> Response[CommandAccepted]:
        require(request, RESOURCE, "update")
        command = UpdateAlertRule(
            name=data.name, metric=data.metric, window_seconds=data.window_seconds,
            comparison=data.comparison, threshold=data.threshold,
            route=None if data.route is UNSET else data.route, clear_route=data.route is None,
            include_4xx=data.include_4xx, enabled=data.enabled)
        c = container
        return await run_command(request, c, lambda seal: c.alert_rules.handle(
            ctx, tenant, rule_id, command, expected_version=expected, seal=seal))

    @delete("/{rule_id:uuid}", status_code=200, summary="Delete an alert rule",
            **docs.command(200, *TARGET, *docs.VERSIONED, example=None))
    async def remove(self, request: Request, rule_id: RuleId, container: Services, ctx: Ctx,
                     expected: Expected, tenant: Tenant) -> Response[CommandAccepted]:
        require(request, RESOURCE, "delete")
        c = container
        return await run_command(request, c, lambda seal: c.alert_rules.handle(
            ctx, tenant, rule_id, DeleteAlertRule(), expected_version=expected, seal=seal))
