"""Usage's response bodies: the seed's UsageMetrics, a month per body, and the statements."""

from __future__ import annotations

from uuid import UUID

from api.platform.schemas import Out


class UsageFigures(Out, frozen=True):
    api_calls: int
    storage: int  # bytes of live resources' data
    bandwidth: int  # bytes in and out
    users: int


class UsageOut(Out, frozen=True):
    organization_id: UUID
    period: str  # "2026-12"
    plan: str
    metrics: UsageFigures
    limits: UsageFigures  # the plan's monthly quotas
    percent_used: dict[str, float]  # by metric, of its quota
    policy: str  # past a quota: "block" (refused) or "overage" (served on, billed)
    # How, in effect (the operator's override of the organization's, else its plan's):
    # "block_429" (until the month ends), "block_402" or "overage"
    quota_policy: str
    blocked: str | None  # the metric past its quota that the API refuses on, if any


class StatementsOut(Out, frozen=True):
    organization_id: UUID
    data: list[UsageOut]  # newest month first
