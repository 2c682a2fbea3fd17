"""Alert rule events, tagged ``alert_rule.<Name>``; firing and resolving are events too, so the
audit trail and the webhooks see them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

import msgspec

# quota_use.<metric>: the month's use of the plan's quota of that usage metric (plans.py
# METRICS), a share (1: the quota reached); quota_use alone: the largest of the four.
Metric = Literal["error_rate", "p95_ms", "request_rate", "projection_lag", "quota_use",
                 "quota_use.apiCalls", "quota_use.bandwidth", "quota_use.storage",
                 "quota_use.users"]
Comparison = Literal["gt", "lt"]


class _Event(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    pass


class AlertRuleCreated(_Event, tag="alert_rule.Created", frozen=True):
    organization_id: UUID | None  # None: a system-wide rule, the operator's
    name: str
    metric: Metric
    window_seconds: int
    comparison: Comparison
    threshold: float
    route: str | None = None  # a route template: only its requests count
    include_4xx: bool = False  # error_rate counts 4xx as errors too
    enabled: bool = True


class AlertRuleUpdated(_Event, tag="alert_rule.Updated", frozen=True):
    """The whole rule after the change (a PATCH of several fields is one event)."""

    name: str
    metric: Metric
    window_seconds: int
    comparison: Comparison
    threshold: float
    route: str | None = None
    include_4xx: bool = False
    enabled: bool = True


class AlertRuleDeleted(_Event, tag="alert_rule.Deleted", frozen=True):
    name: str


class AlertFired(_Event, tag="alert_rule.Fired", frozen=True):
    value: float  # observed over the rule's window
    threshold: float
    at: datetime


class AlertResolved(_Event, tag="alert_rule.Resolved", frozen=True):
    value: float
    threshold: float
    at: datetime


AlertRuleEvent = (AlertRuleCreated | AlertRuleUpdated | AlertRuleDeleted | AlertFired
                  | AlertResolved)
