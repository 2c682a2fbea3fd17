"""Alert rule use cases on the in-memory store: a tenant reaches only its own rules, and two
evaluators that saw the same version fire a rule once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from commands.alert_rules import AlertRuleCommands
from commands.organizations import OrganizationCommands
from commands.runner import VersionConflict
from domain.alert_rule import decider as alert
from domain.alert_rule.commands import (
    CreateAlertRule,
    DeleteAlertRule,
    FireAlert,
    ResolveAlert,
    UpdateAlertRule,
)
from domain.alert_rule.events import AlertFired
from domain.errors import ForeignNotFound, NotFound
from tests.builders import context
from tests.usecases.conftest import RacingStore, new_org

AT = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.fixture
def rules(store: RacingStore) -> AlertRuleCommands:
    return AlertRuleCommands(store, retries=3)


def create(rules: AlertRuleCommands, org_id: uuid.UUID | None) -> uuid.UUID:
    return rules.create(context(), CreateAlertRule(
        organization_id=org_id, name="Errors", metric="error_rate", window_seconds=60,
        comparison="gt", threshold=0.1)).stream_id


def test_a_rule_needs_a_live_organization_but_a_system_wide_one_none(
        rules: AlertRuleCommands, store: RacingStore) -> None:
    with pytest.raises(NotFound):
        create(rules, uuid.uuid4())
    system = create(rules, None)
    (envelope,) = store.load(system)
    assert envelope.organization_id == alert.SYSTEM_ORGANIZATION


def test_a_tenant_changes_only_its_own_rules_and_the_operator_any(
        rules: AlertRuleCommands, store: RacingStore) -> None:
    organizations = OrganizationCommands(store)
    mine, theirs = new_org(organizations, "mine"), new_org(organizations, "theirs")
    rule = create(rules, mine)
    with pytest.raises(ForeignNotFound):
        rules.handle(context(), theirs, rule, DeleteAlertRule())
    rules.handle(context(), mine, rule, UpdateAlertRule(threshold=0.2))
    assert rules.handle(context(), None, rule, DeleteAlertRule()).version == 3


def test_two_evaluators_of_one_version_fire_once(rules: AlertRuleCommands,
                                                 store: RacingStore) -> None:
    rule = create(rules, None)
    store.rivals.append(lambda: rules.transition(context(), rule, FireAlert(value=1, at=AT), 1))
    with pytest.raises(VersionConflict):
        rules.transition(context(), rule, FireAlert(value=1, at=AT), 1)
    fired = [e for e in store.load(rule) if isinstance(e.event, AlertFired)]
    assert len(fired) == 1
    assert rules.transition(context(), rule, ResolveAlert(value=0, at=AT), 2).version == 3
