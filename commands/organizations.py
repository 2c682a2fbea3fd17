"""Organization use cases: each loads the streams it needs, decides, and appends atomically."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from commands.ports import EventStore
from commands.runner import (
    Context,
    Loaded,
    Result,
    Seal,
    StreamWrite,
    check_expected,
    decided,
    execute,
    load,
    presumed,
    write,
)
from domain.errors import NotFound
from domain.organization import decider as org
from domain.organization.commands import CreateOrganization, OrganizationCommand
from domain.organization.events import OrganizationDeleted
from domain.slug import decider as slug

Plan = Callable[[org.Organization], list[OrganizationCommand]]


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
        tries = 0

        def attempt() -> list[StreamWrite]:
            nonlocal tries
            tries += 1
            current = (Loaded(org.INITIAL, 0) if fresh
                       else load(self.store, org.DECIDER, org_id))
            return [write(org.DECIDER, org_id, org_id, current.version,
                          org.decide(command, current.state)),
                    claim_slug(self.store, org_id, command.slug,
                               new=tries == 1 and self.retries > 0)]

        return execute(self.store, ctx, attempt, retries=self.retries, seal=seal)

    def handle(self, ctx: Context, organization_id: UUID,
               commands: OrganizationCommand | Plan, expected_version: int | None = None,
               seal: Seal | None = None) -> Result:
        """Commands on an existing organization, decided together and appended atomically.

        ``commands`` is one command, or a function of the current state returning several
        (a PATCH). ``expected_version`` comes from If-Match and disables the retry.
        """

        def attempt() -> list[StreamWrite]:
            current = load(self.store, org.DECIDER, organization_id)
            if current.version == 0:
                raise NotFound("organization not found", code="organization_not_found")
            check_expected(expected_version, current.version)
            planned = commands(current.state) if callable(commands) else [commands]
            events = org.DECIDER.decide_all(planned, current.state)
            writes = [write(org.DECIDER, organization_id, organization_id, current.version,
                            events)]
            if any(isinstance(e, OrganizationDeleted) for e in events):
                writes.append(decided(self.store, slug.DECIDER, slug.slug_stream_id(
                    current.state.slug), organization_id, slug.ReleaseSlug(
                        slug=current.state.slug, organization_id=organization_id)))
            return writes

        return execute(self.store, ctx, attempt, retries=self.retries,
                       pinned=expected_version is not None, seal=seal)


def claim_slug(store: EventStore, organization_id: UUID, name: str, *,
               new: bool = False) -> StreamWrite:
    """The slug's stream claimed for the organization (two creators collide on it); ``new``:
    presumed never claimed, so not loaded (a conflict on append retries with a load)."""
    return presumed(store, slug.DECIDER, slug.slug_stream_id(name), organization_id,
                    slug.ClaimSlug(slug=name, organization_id=organization_id), new=new)
