"""Alert rule commands: create, update, delete a rule; fire and resolve it (the evaluator's)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec

from domain.alert_rule.events import Comparison, Metric


class CreateAlertRule(msgspec.Struct, frozen=True, kw_only=True):
    organization_id: UUID | None
    name: str
    metric: Metric
    window_seconds: int
    comparison: Comparison
    threshold: float
    route: str | None = None
    include_4xx: bool = False
    enabled: bool = True


class UpdateAlertRule(msgspec.Struct, frozen=True, kw_only=True):
    """Only the fields given change; ``route`` is cleared with ``clear_route``."""

    name: str | None = None
    metric: Metric | None = None
    window_seconds: int | None = None
    comparison: Comparison | None = None
    threshold: float | None = None
    route: str | None = None
    clear_route: bool = False
    include_4xx: bool | None = None
    enabled: bool | None = None


class DeleteAlertRule(msgspec.Struct, frozen=True, kw_only=True):
    pass


class FireAlert(msgspec.Struct, frozen=True, kw_only=True):
    value: float
    at: datetime


class ResolveAlert(msgspec.Struct, frozen=True, kw_only=True):
    value: float
    at: datetime


AlertRuleCommand = CreateAlertRule | UpdateAlertRule | DeleteAlertRule | FireAlert | ResolveAlert
