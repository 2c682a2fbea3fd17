"""Request and response bodies of the alert rule routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from msgspec import UNSET, Meta, UnsetType, field

from api.platform.bodies import Body
from api.platform.schemas import Out, PaginationInfo
from domain import limits as lim
from domain.alert_rule.events import Comparison, Metric

Name = Annotated[str, Meta(min_length=1, max_length=lim.MAX_ALERT_NAME)]
Window = Annotated[int, Meta(ge=lim.MIN_ALERT_WINDOW, le=lim.MAX_ALERT_WINDOW,
                             description="The window the metric is computed over, in seconds")]
Threshold = Annotated[float, Meta(ge=0, le=lim.MAX_ALERT_THRESHOLD, description=(
    "error_rate: a share 0..1; p95_ms: milliseconds; request_rate: requests per second;"
    " projection_lag: events; quota_use(.apiCalls, .bandwidth, .storage, .users): the month's"
    " share of the plan's quota (1: reached; beyond 1 under an overage plan)"))]
Route = Annotated[str, Meta(max_length=lim.MAX_ALERT_ROUTE, description=(
    "Only requests of this route template count, like /v1/resources/{resource_type}"))]


class CreateAlertRuleBody(Body, frozen=True):
    """Without ``organizationId`` a tenant's rule is its own; the operator's is system-wide."""

    name: Name
    metric: Metric
    window_seconds: Window
    comparison: Comparison
    threshold: Threshold
    organization_id: UUID | None = None
    route: Route | None = None
    include_4xx: bool = field(default=False, name="include4xx")  # camel would say 4Xx
    enabled: bool = True


class UpdateAlertRuleBody(Body, frozen=True):
    """A merge patch: the fields given change; ``route: null`` counts every route again."""

    name: Name | None = None
    metric: Metric | None = None
    window_seconds: Window | None = None
    comparison: Comparison | None = None
    threshold: Threshold | None = None
    route: Route | UnsetType | None = UNSET
    include_4xx: bool | None = field(default=None, name="include4xx")
    enabled: bool | None = None


class AlertRuleOut(Out, frozen=True):
    id: UUID
    organization_id: UUID | None  # None: system-wide
    name: str
    metric: Metric
    window_seconds: int
    comparison: Comparison
    threshold: float
    route: str | None
    include_4xx: bool = field(name="include4xx")
    enabled: bool
    state: Literal["ok", "firing"]
    changed_at: datetime | None  # when it last fired or resolved
    last_value: float | None  # the evaluator's last observation (None: nothing observed)
    last_evaluated_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime


class AlertRulePage(Out, frozen=True):
    data: list[AlertRuleOut]
    pagination: PaginationInfo
