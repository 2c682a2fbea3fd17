"""Alert rule use cases: create, update and delete a rule (a tenant's or, for the operator, a
system-wide one), and fire or resolve it (the evaluator's, at the version it evaluated)."""

from __future__ import annotations

from uuid import UUID

from commands.ports import EventStore
from commands.runner import Context, Result, Seal, StreamWrite, check_expected, execute, load, write
from domain.alert_rule import decider as alert
from domain.alert_rule.commands import (
    CreateAlertRule,
    DeleteAlertRule,
    FireAlert,
    ResolveAlert,
    UpdateAlertRule,
)
from domain.errors import ForeignNotFound, NotFound
from domain.organization import decider as org
from domain.organization.rules import require_live

Change = UpdateAlertRule | DeleteAlertRule


class AlertRuleCommands:
    def __init__(self, store: EventStore, *, retries: int = 5) -> None:
        self.store, self.retries = store, retries

    def create(self, ctx: Context, command: CreateAlertRule, seal: Seal | None = None) -> Result:
        rule_id = ctx.new_id()
        org_id = command.organization_id

        def attempt() -> list[StreamWrite]:
            if org_id is not None:
                require_live(load(self.store, org.DECIDER, org_id).state)
            return [write(alert.DECIDER, rule_id, alert.envelope_organization(org_id), 0,
                          alert.decide(command, alert.INITIAL))]

        return execute(self.store, ctx, attempt, retries=self.retries, seal=seal)

    def handle(self, ctx: Context, tenant: UUID | None, rule_id: UUID, command: Change, *,
               expected_version: int | None = None, seal: Seal | None = None) -> Result:
        """``tenant`` None is the operator, who reaches every rule; a tenant only its own."""

        def attempt() -> list[StreamWrite]:
            current = load(self.store, alert.DECIDER, rule_id)
            state = current.state
            if state.status == "absent":
                raise NotFound("alert rule not found", code="alert_rule_not_found")
            if tenant is not None and state.organization_id != tenant:
                raise ForeignNotFound("alert rule not found", code="alert_rule_not_found")
            check_expected(expected_version, current.version)
            return [write(alert.DECIDER, rule_id, alert.envelope_organization(
                state.organization_id), current.version, alert.decide(command, state))]

        return execute(self.store, ctx, attempt, retries=self.retries, seal=seal,
                       pinned=expected_version is not None)

    def transition(self, ctx: Context, rule_id: UUID, command: FireAlert | ResolveAlert,
                   expected_version: int) -> Result:
        """Fire or resolve the rule as evaluated at ``expected_version``: a rule another
        evaluator (or an edit) moved since is a VersionConflict, not a second firing."""

        def attempt() -> list[StreamWrite]:
            current = load(self.store, alert.DECIDER, rule_id)
            check_expected(expected_version, current.version)
            return [write(alert.DECIDER, rule_id, alert.envelope_organization(
                current.state.organization_id), current.version,
                alert.decide(command, current.state))]

        return execute(self.store, ctx, attempt, retries=0, pinned=True)
