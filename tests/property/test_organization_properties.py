"""Organization properties: replay equals live state; invariants over random command sequences."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import reduce
from uuid import UUID

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from domain.envelope import SYSTEM, Envelope, decode, encode
from domain.errors import AlreadyExists, DomainError, InvalidState, InvalidValue, NotFound
from domain.organization.commands import (
    ChangePlan,
    CreateOrganization,
    OrganizationCommand,
    ReactivateOrganization,
    RenameOrganization,
    SuspendOrganization,
    UpdateSettings,
)
from domain.organization.decider import INITIAL, MAX_NAME, Organization, Status, decide, evolve
from domain.organization.events import (
    OrganizationCreated,
    OrganizationDeleted,
    OrganizationEvent,
    OrganizationPlanChanged,
    OrganizationReactivated,
    OrganizationRenamed,
    OrganizationSettingsUpdated,
    OrganizationSuspended,
)
from tests.property import strategies as s

ORG_ID = UUID("00000000-0000-4000-8000-0000000000c1")
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
LIVE: tuple[Status, ...] = ("active", "suspended")
TRANSITIONS: set[tuple[Status, Status]] = {
    ("absent", "absent"), ("absent", "active"),
    ("active", "active"), ("active", "suspended"), ("suspended", "suspended"),
    ("suspended", "active"), ("active", "deleted"), ("suspended", "deleted"),
    ("deleted", "deleted"),
}


def stored(event: OrganizationEvent, version: int) -> bytes:
    return encode(Envelope(
        event_id=UUID(int=version), stream_id=ORG_ID, stream_type="organization",
        version=version, organization_id=ORG_ID, occurred_at=EPOCH + timedelta(seconds=version),
        actor=SYSTEM, request_id="r", correlation_id="c", causation_id="c", event=event))


def either(valid: st.SearchStrategy, invalid: st.SearchStrategy) -> st.SearchStrategy:
    """A command paired with whether its input is valid, for the model to predict the outcome."""
    return valid.map(lambda c: (c, True)) | invalid.map(lambda c: (c, False))


def replay(stream: list[bytes]) -> Organization:
    envelopes = [decode(data) for data in stream]
    assert [e.version for e in envelopes] == list(range(1, len(stream) + 1))
    return reduce(evolve, (e.event for e in envelopes), INITIAL)  # type: ignore[arg-type]


@given(first=s.valid_creates | s.invalid_creates,
       rest=st.lists(s.organization_commands, max_size=25))
@settings(deadline=None)
def test_replaying_the_stored_stream_gives_the_state_the_live_commands_produced(
        first: CreateOrganization, rest: list[OrganizationCommand]) -> None:
    live, stream = INITIAL, []
    for command in [first, *rest]:
        try:
            events = decide(command, live)
        except DomainError:
            continue
        for event in events:
            live = evolve(live, event)
            stream.append(stored(event, len(stream) + 1))
    assert replay(stream) == live


def accepts(command: CreateOrganization) -> bool:
    try:
        decide(command, INITIAL)
    except InvalidValue:
        return False
    return True


@given(slug=s.slugs | s.bad_slugs | st.text(alphabet="aZ-_0\n ", max_size=4))
@settings(deadline=None)
def test_a_slug_is_accepted_exactly_when_it_follows_the_slug_rule(slug: str) -> None:
    follows_rule = s.SLUG_RULE.fullmatch(slug) is not None
    assert accepts(CreateOrganization(name="Acme", slug=slug)) is follows_rule


@given(name=s.names | s.bad_names | st.text(max_size=8))
@settings(deadline=None)
def test_a_name_is_accepted_exactly_when_trimmed_it_is_1_to_255_characters(name: str) -> None:
    assert accepts(CreateOrganization(name=name, slug="acme")) is (0 < len(name.strip()) <= 255)


class OrganizationLifecycle(RuleBasedStateMachine):
    """Drives one organization with random commands against a small independent model."""

    def __init__(self) -> None:
        super().__init__()
        self.state = INITIAL
        self.events: list[OrganizationEvent] = []
        self.previous_status: Status = "absent"
        self.previous_version = 0
        self.status: Status = "absent"
        self.name = ""
        self.slug = ""
        self.plan = "free"
        self.settings = INITIAL.settings

    def gate(self) -> type[DomainError] | None:
        """The rejection every change to a non-live organization gets, before any other rule."""
        return {"absent": NotFound, "deleted": InvalidState}.get(self.status)

    def run(self, command: OrganizationCommand, *, rejected: type[DomainError] | None,
            accepted: list[OrganizationEvent] | None = None) -> bool:
        """Decide, check the outcome against the model, evolve; True if the command passed."""
        before = self.state
        snapshot = msgspec.json.encode(before)
        self.previous_status, self.previous_version = before.status, len(self.events)
        if rejected is not None:
            with pytest.raises(DomainError) as caught:
                decide(command, before)
            assert type(caught.value) is rejected
            assert msgspec.json.encode(self.state) == snapshot  # a rejection changes nothing
            return False
        events = decide(command, before)
        assert msgspec.json.encode(before) == snapshot  # decide never touches its input
        if accepted is not None:
            assert events == accepted
        self.state = reduce(evolve, events, before)
        self.events.extend(events)
        return True

    @initialize(create=st.none() | s.valid_creates, suspend=st.booleans())
    def start_absent_active_or_suspended(self, create: CreateOrganization | None,
                                         suspend: bool) -> None:
        if create is not None:
            self.create((create, True))
            if suspend:
                self.suspend((SuspendOrganization(reason="initial"), True))

    @rule(case=either(s.valid_creates, s.invalid_creates))
    def create(self, case: tuple[CreateOrganization, bool]) -> None:
        command, valid = case
        if self.status != "absent" or not valid:
            self.run(command, rejected=InvalidValue if self.status == "absent" else AlreadyExists)
            return
        expected = OrganizationCreated(name=command.name.strip(), slug=command.slug,
                                       plan=command.plan, settings=command.settings)
        self.run(command, rejected=None, accepted=[expected])
        self.status, self.name, self.slug = "active", expected.name, command.slug
        self.plan, self.settings = command.plan, command.settings

    @rule(case=either(s.valid_renames, s.invalid_renames))
    def rename(self, case: tuple[RenameOrganization, bool]) -> None:
        command, valid = case
        name = command.name.strip()
        accepted = [] if name == self.name else [
            OrganizationRenamed(name=name, previous_name=self.name)]
        if self.run(command, rejected=self.gate() or (None if valid else InvalidValue),
                    accepted=accepted):
            self.name = name

    @precondition(lambda self: self.status in LIVE)
    @rule(padding=st.sampled_from(["", " ", "\t", "\n  "]))
    def repeat_the_current_name_plan_and_settings(self, padding: str) -> None:
        self.run(RenameOrganization(name=padding + self.name + padding), rejected=None,
                 accepted=[])
        self.run(ChangePlan(plan=self.plan), rejected=None, accepted=[])
        self.run(UpdateSettings(settings=self.settings), rejected=None, accepted=[])

    @rule(command=s.plan_changes)
    def change_plan(self, command: ChangePlan) -> None:
        accepted = [] if command.plan == self.plan else [
            OrganizationPlanChanged(plan=command.plan, previous_plan=self.plan)]
        if self.run(command, rejected=self.gate(), accepted=accepted):
            self.plan = command.plan

    @rule(case=either(s.valid_settings_updates, s.invalid_settings_updates))
    def update_settings(self, case: tuple[UpdateSettings, bool]) -> None:
        command, valid = case
        accepted = [] if command.settings == self.settings else [
            OrganizationSettingsUpdated(settings=command.settings)]
        if self.run(command, rejected=self.gate() or (None if valid else InvalidValue),
                    accepted=accepted):
            self.settings = command.settings

    @rule(case=either(s.suspends, s.overlong_suspends))
    def suspend(self, case: tuple[SuspendOrganization, bool]) -> None:
        command, valid = case
        again = InvalidState if self.status == "suspended" else None
        if self.run(command, rejected=self.gate() or again or (None if valid else InvalidValue),
                    accepted=[OrganizationSuspended(reason=command.reason)]):
            self.status = "suspended"

    @rule(command=s.reactivates)
    def reactivate(self, command: OrganizationCommand) -> None:
        not_suspended = InvalidState if self.status == "active" else None
        if self.run(command, rejected=self.gate() or not_suspended,
                    accepted=[OrganizationReactivated()]):
            self.status = "active"

    @precondition(lambda self: self.status == "suspended")
    @rule()
    def lift_the_suspension(self) -> None:
        # Reaching a suspension takes two lucky steps; make leaving it likely once there.
        self.reactivate(ReactivateOrganization())

    @rule(command=s.deletes)
    def delete(self, command: OrganizationCommand) -> None:
        if self.run(command, rejected=self.gate(), accepted=[OrganizationDeleted(slug=self.slug)]):
            self.status = "deleted"

    @precondition(lambda self: self.status == "deleted")
    @rule(command=s.organization_commands)
    def a_deleted_organization_rejects_every_command(self, command: OrganizationCommand) -> None:
        expected = AlreadyExists if isinstance(command, CreateOrganization) else InvalidState
        self.run(command, rejected=expected)

    @invariant()
    def the_status_follows_the_model(self) -> None:
        assert self.state.status == self.status

    @invariant()
    def the_status_only_moves_along_allowed_transitions(self) -> None:
        assert (self.previous_status, self.state.status) in TRANSITIONS

    @invariant()
    def the_state_matches_the_model_and_the_replayed_stored_stream(self) -> None:
        assert replay([stored(e, v) for v, e in enumerate(self.events, 1)]) == self.state
        assert (self.state.name, self.state.plan, self.state.settings) == (
            self.name, self.plan, self.settings)

    @invariant()
    def a_created_organization_has_a_trimmed_name_within_bounds(self) -> None:
        if self.state.status != "absent":
            assert self.state.name == self.state.name.strip()
            assert 0 < len(self.state.name) <= MAX_NAME

    @invariant()
    def the_slug_never_changes_after_creation(self) -> None:
        assert self.state.slug == self.slug

    @invariant()
    def the_version_never_goes_down(self) -> None:
        assert len(self.events) >= self.previous_version

    @invariant()
    def the_stream_starts_with_its_only_creation(self) -> None:
        created = [i for i, e in enumerate(self.events) if isinstance(e, OrganizationCreated)]
        assert created == ([0] if self.events else [])


OrganizationLifecycle.TestCase.settings = settings(stateful_step_count=30, deadline=None)
TestOrganizationLifecycle = OrganizationLifecycle.TestCase
