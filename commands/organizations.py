"""Organization use cases: each loads the streams it needs, decides, and appends atomically."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from commands.runner import (
    Context,
    Loaded,
    Result,
    Seal,
    StreamWrite,
    check_expected,
    execute,
    load,
)
from domain.errors import NotFound
from domain.organization import decider as org
from domain.organization.commands import CreateOrganization, OrganizationCommand
from domain.organization.events import OrganizationDeleted
from domain.slug import decider as slug
from infra.eventstore import EventStore

STREAM_TYPE = "organization"
Plan = Callable[[org.Organization], list[OrganizationCommand]]
SLUG_STREAM_TYPE = "slug"


class OrganizationCommands:
    """The organization command side, bound to one event store."""

    def __init__(self, store: EventStore, *, retries: int = 5) -> None:
        self.store = store
        self.retries = retries

    def create(self, ctx: Context, command: CreateOrganization,
               organization_id: UUID | None = None, seal: Seal | None = None) -> Result:
        """Create the organization and claim its slug in one append (no half-created org)."""
        org_id = organization_id or ctx.new_id()
        # A freshly drawn id has no stream yet: loading it would be a round trip for nothing.
        fresh = organization_id is None

        def attempt() -> list[StreamWrite]:
            current = (Loaded(org.INITIAL, 0) if fresh
                       else load(self.store, org_id, org.evolve, org.INITIAL))
            events = org.decide(command, current.state)
            slug_id = slug.slug_stream_id(command.slug)
            held = load(self.store, slug_id, slug.evolve, slug.INITIAL)
            claims = slug.claim(held.state, command.slug, org_id)
            return [
                StreamWrite(org_id, STREAM_TYPE, org_id, current.version, events),
                StreamWrite(slug_id, SLUG_STREAM_TYPE, org_id, held.version, claims),
            ]

        return execute(self.store, ctx, attempt, retries=self.retries, seal=seal)

    def handle(self, ctx: Context, organization_id: UUID,
               commands: OrganizationCommand | Plan, expected_version: int | None = None,
               seal: Seal | None = None) -> Result:
        """Commands on an existing organization, decided together and appended atomically.

        ``commands`` is one command, or a function of the current state returning several
        (a PATCH). ``expected_version`` comes from If-Match and disables the retry.
        """

        def attempt() -> list[StreamWrite]:
            current = load(self.store, organization_id, org.evolve, org.INITIAL)
            if current.version == 0:
                raise NotFound("organization not found", code="organization_not_found")
            check_expected(expected_version, current.version)
            planned = commands(current.state) if callable(commands) else [commands]
            state, events = current.state, []
            for command in planned:
                decided = org.decide(command, state)
                for event in decided:
                    state = org.evolve(state, event)
                events.extend(decided)
            writes = [StreamWrite(organization_id, STREAM_TYPE, organization_id,
                                  current.version, events)]
            if any(isinstance(e, OrganizationDeleted) for e in events):
                writes.append(self._release_slug(organization_id, current.state.slug))
            return writes

        return execute(self.store, ctx, attempt, retries=self.retries,
                       pinned=expected_version is not None, seal=seal)

    def _release_slug(self, organization_id: UUID, name: str) -> StreamWrite:
        slug_id = slug.slug_stream_id(name)
        held = load(self.store, slug_id, slug.evolve, slug.INITIAL)
        return StreamWrite(slug_id, SLUG_STREAM_TYPE, organization_id, held.version,
                           slug.release(held.state, name, organization_id))
