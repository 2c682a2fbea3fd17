"""Usage metering: ``GET /v1/usage`` (a month's calls, bandwidth, storage and users against the
plan's quotas) and ``GET /v1/usage/statements`` (every metered month, newest first). A tenant
reads its own organization, the operator any with ``organization_id``; the permission is
`analytics` (read)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from anyio import to_thread
from litestar import Controller, Request, get
from litestar.params import QueryParameter

from api.analytics.routes import RESOURCE
from api.audit.routes import OrgParam
from api.auth.access import Tenant, organization_for, require
from api.platform import openapi as docs
from api.platform.dependencies import Services
from api.platform.errors import ApiException, FieldError
from api.usage.schemas import StatementsOut, UsageFigures, UsageOut
from domain import limits as lim
from domain.organization.plans import METRICS, Quota, quota_of
from domain.usage.decider import PERIOD
from infra.container import Container
from infra.metering import block_of, month_end, used_of
from projections import usage_queries as queries

Period = Annotated[str | None, QueryParameter(
    max_length=7, required=False, description="The month, like 2026-12 (default: this one)")]


def quota_for(container: Container, organization: queries.Organization) -> Quota:
    """The quota the meter enforces (the plan's, unless the meter was given others), with the
    operator's override of the policy when set: ``quotaPolicy`` is the effective one."""
    plan, policy = organization.plan, organization.quota_policy
    return quota_of(plan, policy) if container.meter is None else container.meter.quota(
        plan, policy)


def usage_out(org: UUID, plan: str, period: str, counts: queries.Counts,
              levels: queries.Levels, quota: Quota) -> UsageOut:
    used = used_of(counts, levels)
    block = block_of(used, quota, period, month_end(datetime.now(UTC)), plan=plan)
    return UsageOut(
        organization_id=org, period=period, plan=plan,
        metrics=UsageFigures(api_calls=counts.api_calls, storage=levels.storage,
                             bandwidth=counts.bandwidth, users=levels.users),
        limits=UsageFigures(api_calls=quota.api_calls, storage=quota.storage,
                            bandwidth=quota.bandwidth, users=quota.users),
        percent_used={m: round(100 * used[m] / quota.of(m), 2) for m in METRICS},
        policy="overage" if quota.over == "overage" else "block", quota_policy=quota.over,
        blocked=block.metric if block else None)


def month_of(raw: str | None) -> str:
    if raw is None:
        return queries.period_of(datetime.now(UTC))
    if not PERIOD.fullmatch(raw):
        message = "period must be a month like 2026-12"
        raise ApiException(400, "invalid_parameter", message,
                           details=[FieldError("period", message)])
    return raw


async def plan_of(container: Container, org: UUID) -> queries.Organization:
    async with container.pool.connection() as conn:
        found = await queries.plan(conn, org)
    if found is None:
        raise ApiException(404, "not_found")
    return found


async def months(container: Container, org: UUID,
                 limit: int) -> dict[str, tuple[queries.Counts, queries.Levels]]:
    """The organization's metered months; this month's levels as they are now."""
    shared = container.analytics
    assert shared is not None  # built by the container with every other adapter

    def from_clickhouse() -> tuple[dict[str, tuple[queries.Counts, queries.Levels]],
                                   queries.Levels]:
        ch = shared.get()
        return (queries.history(ch, org, limit),
                queries.levels(ch, org).get(org, queries.Levels()))

    found, live = await to_thread.run_sync(from_clickhouse)
    now = queries.period_of(datetime.now(UTC))
    counts = found.get(now, (queries.Counts(), live))[0]
    return {now: (counts, live), **{p: m for p, m in found.items() if p != now}}


class UsageController(Controller):
    path = "/v1/usage"
    tags = ["analytics"]

    @get("/", summary="A month's usage against the plan's quotas (the seed's UsageMetrics)",
         **docs.read(UsageOut, "invalid_parameter", "permission_denied", "not_found"))
    async def usage(self, request: Request, container: Services, tenant: Tenant,
                    organization_id: OrgParam = None, period: Period = None) -> UsageOut:
        org_id = organization_for(tenant, organization_id)
        require(request, RESOURCE, "read", org_id)
        month = month_of(period)
        organization = await plan_of(container, org_id)
        counts, levels = (await months(container, org_id, lim.MAX_USAGE_MONTHS)).get(
            month, (queries.Counts(), queries.Levels()))
        return usage_out(org_id, organization.plan, month, counts, levels,
                         quota_for(container, organization))

    @get("/statements", summary="Monthly statements: every metered month, newest first",
         **docs.read(StatementsOut, "invalid_parameter", "permission_denied", "not_found"))
    async def statements(self, request: Request, container: Services, tenant: Tenant,
                         organization_id: OrgParam = None,
                         limit: Annotated[int, QueryParameter(
                             ge=1, le=lim.MAX_USAGE_MONTHS)] = 12) -> StatementsOut:
        org_id = organization_for(tenant, organization_id)
        require(request, RESOURCE, "read", org_id)
        organization = await plan_of(container, org_id)
        found = await months(container, org_id, limit)
        quota = quota_for(container, organization)
        return StatementsOut(organization_id=org_id, data=[
            usage_out(org_id, organization.plan, p, c, lv, quota)
            for p, (c, lv) in list(found.items())[:limit]])
