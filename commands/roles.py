"""Custom role use cases: create, update, delete; the name is claimed per organization."""

from __future__ import annotations

from uuid import UUID

from commands.runner import Context, Result, Seal, StreamWrite, check_expected, execute, load
from domain.claim import decider as claim
from domain.errors import ForeignNotFound, NotFound
from domain.organization import decider as org
from domain.permissions import ApiPermission, check_no_escalation
from domain.role import decider as role
from domain.role.events import RoleCreated, RoleDeleted, RoleUpdated
from domain.role.system import effective_permissions, is_system
from domain.user import rules
from infra.eventstore import EventStore

STREAM_TYPE, CLAIM = "role", "claim"


class RoleCommands:
    def __init__(self, store: EventStore, *, retries: int = 5) -> None:
        self.store, self.retries = store, retries

    def create(self, ctx: Context, command: role.CreateRole,
               grantor: tuple[ApiPermission, ...] | None = None,
               seal: Seal | None = None) -> Result:
        role_id = ctx.new_id()
        org_id = command.organization_id
        check_no_escalation(command.permissions, grantor)

        def attempt() -> list[StreamWrite]:
            owner = load(self.store, org_id, org.evolve, org.INITIAL)
            if owner.state.status in ("absent", "deleted"):
                raise NotFound("organization not found", code="organization_not_found")
            events = role.decide(command, role.INITIAL)
            assert isinstance(events[0], RoleCreated)
            return [StreamWrite(role_id, STREAM_TYPE, org_id, 0, events),
                    self._name(org_id, role_id, events[0].name, claim.claim)]

        return execute(self.store, ctx, attempt, retries=self.retries, seal=seal)

    def handle(self, ctx: Context, organization_id: UUID | None, role_id: UUID,
               command: role.UpdateRole | role.DeleteRole,
               grantor: tuple[ApiPermission, ...] | None = None,
               seal: Seal | None = None, expected_version: int | None = None) -> Result:
        if isinstance(command, role.UpdateRole):
            check_no_escalation(command.permissions or (), grantor)

        def attempt() -> list[StreamWrite]:
            current = load(self.store, role_id, role.evolve, role.INITIAL)
            state: role.Role = current.state
            if state.organization_id is None:
                raise NotFound("role not found", code="role_not_found")
            if organization_id is not None and state.organization_id != organization_id:
                raise ForeignNotFound("role not found", code="role_not_found")
            check_expected(expected_version, current.version)
            org_id = state.organization_id
            events = role.decide(command, state)
            writes = [StreamWrite(role_id, STREAM_TYPE, org_id, current.version, events)]
            for event in events:
                renamed = isinstance(event, RoleUpdated) and (
                    event.name.lower() != state.name.lower())
                if renamed or isinstance(event, RoleDeleted):
                    writes.append(self._name(org_id, role_id, state.name, claim.release))
                if renamed:
                    assert isinstance(event, RoleUpdated)
                    writes.append(self._name(org_id, role_id, event.name, claim.claim))
            return writes

        return execute(self.store, ctx, attempt, retries=self.retries, seal=seal,
                       pinned=expected_version is not None)

    def _name(self, org_id: UUID, role_id: UUID, name: str, change: claim.Change) -> StreamWrite:
        name_id = claim.role_name_stream_id(org_id, name)
        held = load(self.store, name_id, claim.evolve, claim.INITIAL)
        return StreamWrite(name_id, CLAIM, org_id, held.version,
                           change(held.state, claim.ROLE_NAME, name.strip().lower(), role_id))


def custom_role(store: EventStore, organization_id: UUID, role_ref: str) -> role.Role | None:
    """The organization's active custom role ``role_ref`` names, if there is one."""
    try:
        role_id = UUID(role_ref)
    except ValueError:
        return None
    found: role.Role = load(store, role_id, role.evolve, role.INITIAL).state
    return found if found.status == "active" and found.organization_id == organization_id else None


def role_permissions(store: EventStore, organization_id: UUID,
                     role_ref: str) -> str | tuple[ApiPermission, ...]:
    """A system role's name as is; a custom role's permissions (none once it is deleted)."""
    if is_system(role_ref):
        return role_ref
    found = custom_role(store, organization_id, role_ref)
    return found.permissions if found is not None else ()


def check_grant(store: EventStore, organization_id: UUID, role_ref: str,
                extra: tuple[ApiPermission, ...], grantor: tuple[ApiPermission, ...] | None,
                ) -> None:
    """The role must exist in the organization; a grantor (an API key, later a user) may not
    hand out more than it holds."""
    if not is_system(role_ref) and custom_role(store, organization_id,
                                               rules.role(role_ref)) is None:
        raise NotFound("role not found", field="role", code="role_not_found")
    wanted = effective_permissions(role_permissions(store, organization_id, role_ref), extra)
    check_no_escalation(wanted, grantor)
