"""Alert rules: a definition within its bounds, changed field by field; firing once, resolving once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import msgspec
import pytest

from domain.alert_rule import decider as alert
from domain.alert_rule.commands import (
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
    AlertRuleUpdated,
)
from domain.errors import InvalidState, InvalidValue, NotFound
from tests.unit.spec import Specification

ORG = uuid.UUID(int=1)
AT = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
CREATE = CreateAlertRule(organization_id=ORG, name=" Errors ", metric="error_rate",
                         window_seconds=300, comparison="gt", threshold=0.05)
CREATED = AlertRuleCreated(organization_id=ORG, name="Errors", metric="error_rate",
                           window_seconds=300, comparison="gt", threshold=0.05)
FIRED = AlertFired(value=0.5, threshold=0.05, at=AT)
RULES = Specification(alert.DECIDER)


def test_creating_a_rule_records_its_trimmed_definition() -> None:
    RULES.given().when(CREATE).then(CREATED)


def test_a_system_wide_rule_has_no_organization_and_is_filed_under_the_nil_one() -> None:
    events = alert.decide(CreateAlertRule(organization_id=None, name="Lag",
                                          metric="projection_lag", window_seconds=60,
                                          comparison="gt", threshold=1000), alert.INITIAL)
    assert events[0].organization_id is None  # type: ignore[union-attr]
    assert alert.envelope_organization(None) == uuid.UUID(int=0)
    assert alert.envelope_organization(ORG) == ORG


@pytest.mark.parametrize(("change", "field", "code"), [
    ({"name": "  "}, "name", "alert_rule_name_invalid"),
    ({"name": "x" * 101}, "name", "alert_rule_name_invalid"),
    ({"window_seconds": 59}, "window_seconds", "alert_rule_window_invalid"),
    ({"window_seconds": 86_401}, "window_seconds", "alert_rule_window_invalid"),
    ({"threshold": 1.5}, "threshold", "alert_rule_threshold_invalid"),
    ({"threshold": -1.0}, "threshold", "alert_rule_threshold_invalid"),
    ({"threshold": float("inf"), "metric": "p95_ms"}, "threshold",
     "alert_rule_threshold_invalid"),
    ({"route": "v1/resources"}, "route", "alert_rule_route_invalid"),
    ({"route": "/" + "x" * 200}, "route", "alert_rule_route_invalid"),
])
def test_a_definition_out_of_bounds_is_refused_on_its_field(
        change: dict[str, object], field: str, code: str) -> None:
    command = msgspec.structs.replace(CREATE, **change)
    error = RULES.given().when(command).then_raises(InvalidValue, field=field)
    assert error.code == code


def test_a_p95_threshold_may_exceed_one_where_an_error_rate_may_not() -> None:
    RULES.given(CREATED).when(UpdateAlertRule(metric="p95_ms", threshold=250)).then(
        AlertRuleUpdated(name="Errors", metric="p95_ms", window_seconds=300, comparison="gt",
                         threshold=250.0))
    RULES.given(CREATED).when(UpdateAlertRule(threshold=250)).then_raises(
        InvalidValue, field="threshold")


def test_an_update_records_the_whole_rule_and_nothing_when_unchanged() -> None:
    RULES.given(CREATED).when(UpdateAlertRule(threshold=0.05, name="Errors")).then()
    RULES.given(CREATED).when(UpdateAlertRule(route="/v1/resources", enabled=False)).then(
        AlertRuleUpdated(name="Errors", metric="error_rate", window_seconds=300,
                         comparison="gt", threshold=0.05, route="/v1/resources", enabled=False))


def test_clearing_the_route_counts_every_request_again() -> None:
    routed = AlertRuleUpdated(name="Errors", metric="error_rate", window_seconds=300,
                              comparison="gt", threshold=0.05, route="/v1/resources")
    RULES.given(CREATED, routed).when(UpdateAlertRule(clear_route=True)).then(
        AlertRuleUpdated(name="Errors", metric="error_rate", window_seconds=300,
                         comparison="gt", threshold=0.05))


def test_a_quiet_rule_fires_with_the_value_it_observed_and_its_threshold() -> None:
    RULES.given(CREATED).when(FireAlert(value=0.5, at=AT)).then(FIRED)
    assert RULES.given(CREATED, FIRED).state.firing


def test_a_firing_rule_does_not_fire_again() -> None:
    error = RULES.given(CREATED, FIRED).when(FireAlert(value=0.6, at=AT)).then_raises(
        InvalidState)
    assert error.code == "alert_already_firing"


def test_a_firing_rule_resolves_once_and_a_quiet_one_does_not_resolve() -> None:
    RULES.given(CREATED, FIRED).when(ResolveAlert(value=0.01, at=AT)).then(
        AlertResolved(value=0.01, threshold=0.05, at=AT))
    resolved = AlertResolved(value=0.01, threshold=0.05, at=AT)
    assert not RULES.given(CREATED, FIRED, resolved).state.firing
    error = RULES.given(CREATED).when(ResolveAlert(value=0.0, at=AT)).then_raises(InvalidState)
    assert error.code == "alert_not_firing"


def test_a_deleted_or_unknown_rule_is_not_found_for_every_command() -> None:
    deleted = AlertRuleDeleted(name="Errors")
    RULES.given(CREATED).when(DeleteAlertRule()).then(deleted)
    for history in ((), (CREATED, deleted)):
        for command in (UpdateAlertRule(name="x"), DeleteAlertRule(),
                        FireAlert(value=1, at=AT), ResolveAlert(value=0, at=AT)):
            RULES.given(*history).when(command).then_raises(NotFound)


def test_evolve_ignores_what_it_does_not_know() -> None:
    assert alert.evolve(alert.INITIAL, object()) == alert.INITIAL  # type: ignore[arg-type]
