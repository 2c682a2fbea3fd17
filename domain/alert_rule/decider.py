"""Alert rule decider: a rule's definition, and whether it is firing.

Firing and resolving are decided here, not by the evaluator, so that a rule fires once: the
evaluator appends at the version it read, and a second evaluator's FireAlert is refused.
"""

from __future__ import annotations

import math
from typing import Any, Literal, assert_never
from uuid import UUID

import msgspec

from domain.alert_rule.commands import (
    AlertRuleCommand,
    CreateAlertRule,
    DeleteAlertRule,
    FireAlert,
    ResolveAlert,
    UpdateAlertRule,
)
from domain.alert_rule.events import (
    AlertFired,
    AlertResolved,
    AlertRuleCreated,
    AlertRuleDeleted,
    AlertRuleEvent,
    AlertRuleUpdated,
    Comparison,
    Metric,
)
from domain.decider import Decider
from domain.errors import AlreadyExists, InvalidState, InvalidValue, NotFound
from domain.limits import (
    MAX_ALERT_NAME,
    MAX_ALERT_ROUTE,
    MAX_ALERT_THRESHOLD,
    MAX_ALERT_WINDOW,
    MIN_ALERT_WINDOW,
)

Status = Literal["absent", "active", "deleted"]
# Where a system-wide rule's events are filed: the envelope always names an organization.
SYSTEM_ORGANIZATION = UUID(int=0)
# A rule's definition: what its events carry whole and an update may change.
DEFINITION = ("name", "metric", "window_seconds", "comparison", "threshold", "route",
              "include_4xx", "enabled")


class AlertRule(msgspec.Struct, frozen=True, kw_only=True):
    status: Status = "absent"
    organization_id: UUID | None = None
    name: str = ""
    metric: Metric = "error_rate"
    window_seconds: int = MIN_ALERT_WINDOW
    comparison: Comparison = "gt"
    threshold: float = 0.0
    route: str | None = None
    include_4xx: bool = False
    enabled: bool = True
    firing: bool = False


INITIAL = AlertRule()


def envelope_organization(organization_id: UUID | None) -> UUID:
    return SYSTEM_ORGANIZATION if organization_id is None else organization_id


def evolve(state: AlertRule, event: AlertRuleEvent) -> AlertRule:
    match event:
        case AlertRuleCreated():
            return AlertRule(status="active", organization_id=event.organization_id,
                             **_definition(event))
        case AlertRuleUpdated():
            return msgspec.structs.replace(state, **_definition(event))
        case AlertRuleDeleted():
            return msgspec.structs.replace(state, status="deleted")
        case AlertFired():
            return msgspec.structs.replace(state, firing=True)
        case AlertResolved():
            return msgspec.structs.replace(state, firing=False)
        case _:
            return state


def _definition(source: AlertRuleCreated | AlertRuleUpdated | AlertRule) -> dict[str, Any]:
    return {k: getattr(source, k) for k in DEFINITION}


def decide(command: AlertRuleCommand, state: AlertRule) -> list[AlertRuleEvent]:
    match command:
        case CreateAlertRule():
            if state.status != "absent":
                raise AlreadyExists("alert rule already exists")
            return [AlertRuleCreated(organization_id=command.organization_id,
                                     **_checked(msgspec.structs.asdict(command)))]
        case UpdateAlertRule():
            _require_active(state)
            updated = AlertRuleUpdated(**_checked(_merged(command, state)))
            return [] if _definition(updated) == _definition(state) else [updated]
        case DeleteAlertRule():
            _require_active(state)
            return [AlertRuleDeleted(name=state.name)]
        case FireAlert():
            _require_active(state)
            if state.firing:
                raise InvalidState("the alert is already firing", code="alert_already_firing")
            return [AlertFired(value=command.value, threshold=state.threshold, at=command.at)]
        case ResolveAlert():
            _require_active(state)
            if not state.firing:
                raise InvalidState("the alert is not firing", code="alert_not_firing")
            return [AlertResolved(value=command.value, threshold=state.threshold, at=command.at)]
        case _:
            assert_never(command)


def _merged(command: UpdateAlertRule, state: AlertRule) -> dict[str, Any]:
    merged = _definition(state)
    for key, value in msgspec.structs.asdict(command).items():
        if key in merged and value is not None:
            merged[key] = value
    if command.clear_route:
        merged["route"] = None
    return merged


def _checked(fields: dict[str, Any]) -> dict[str, Any]:
    """The definition's fields, each within its bounds (the command's other fields dropped)."""
    fields = {k: fields[k] for k in DEFINITION}
    name = str(fields["name"]).strip()
    if not name or len(name) > MAX_ALERT_NAME:
        raise InvalidValue(f"an alert rule's name is 1-{MAX_ALERT_NAME} characters",
                           field="name", code="alert_rule_name_invalid",
                           params={"max": MAX_ALERT_NAME})
    window = fields["window_seconds"]
    if not isinstance(window, int) or not MIN_ALERT_WINDOW <= window <= MAX_ALERT_WINDOW:
        raise InvalidValue(f"window_seconds is {MIN_ALERT_WINDOW}..{MAX_ALERT_WINDOW}",
                           field="window_seconds", code="alert_rule_window_invalid",
                           params={"min": MIN_ALERT_WINDOW, "max": MAX_ALERT_WINDOW})
    _check_threshold(fields["metric"], fields["threshold"])
    route = fields["route"]
    if route is not None and (not isinstance(route, str) or not route.startswith("/")
                              or len(route) > MAX_ALERT_ROUTE):
        raise InvalidValue(f"route is a route template like /v1/resources, at most"
                           f" {MAX_ALERT_ROUTE} characters", field="route",
                           code="alert_rule_route_invalid", params={"max": MAX_ALERT_ROUTE})
    return {**fields, "name": name, "threshold": float(fields["threshold"])}


def _check_threshold(metric: Metric, threshold: float) -> None:
    top = 1.0 if metric == "error_rate" else MAX_ALERT_THRESHOLD
    if not math.isfinite(threshold) or not 0 <= threshold <= top:
        raise InvalidValue(f"a {metric} threshold is 0..{top:g}", field="threshold",
                           code="alert_rule_threshold_invalid",
                           params={"metric": metric, "max": f"{top:g}"})


def _require_active(state: AlertRule) -> None:
    if state.status != "active":
        raise NotFound("alert rule not found", code="alert_rule_not_found")


DECIDER = Decider("alert_rule", INITIAL, evolve, decide)
