"""Custom role use cases: create, update, delete; the name is claimed per organization."""

from __future__ import annotations

from uuid import UUID

from commands.ports import EventStore
from commands.runner import (
    Context,
    Result,
    Seal,
    StreamWrite,
    check_expected,
    decided,
    execute,
    load,
    write,
)
from domain.claim import decider as claim
from domain.errors import ForeignNotFound, NotFound
from domain.organization import decider as org
from domain.organization.rules import require_live
from domain.permissions import ApiPermission, check_no_escalation
from domain.role import decider as role
from domain.role.events import RoleCreated, RoleDeleted, RoleUpdated
from domain.role.system import effective_permissions, is_system
from domain.user import rules


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
            require_live(load(self.store, org.DECIDER, org_id).state)
            events = role.decide(command, role.INITIAL)
            assert isinstance(events[0], RoleCreated)
            return [write(role.DECIDER, role_id, org_id, 0, events),
                    self._name(org_id, role_id, events[0].name, claim.ClaimValue)]

        return execute(self.store, ctx, attempt, retries=self.retries, seal=seal)

    def handle(self, ctx: Context, organization_id: UUID | None, role_id: UUID,
               command: role.UpdateRole | role.DeleteRole,
               grantor: tuple[ApiPermission, ...] | None = None,
               seal: Seal | None = None, expected_version: int | None = None) -> Result:
        if isinstance(command, role.UpdateRole):
            check_no_escalation(command.permissions or (), grantor)

        def attempt() -> list[StreamWrite]:
            current = load(self.store, role.DECIDER, role_id)
            state = current.state
            if state.organization_id is None:
                raise NotFound("role not found", code="role_not_found")
            if organization_id is not None and state.organization_id != organization_id:
                raise ForeignNotFound("role not found", code="role_not_found")
            check_expected(expected_version, current.version)
            org_id = state.organization_id
            events = role.decide(command, state)
            writes = [write(role.DECIDER, role_id, org_id, current.version, events)]
            for event in events:
                renamed = isinstance(event, RoleUpdated) and (
                    event.name.lower() != state.name.lower())
                if renamed or isinstance(event, RoleDeleted):
                    writes.append(self._name(org_id, role_id, state.name, claim.ReleaseValue))
                if renamed:
                    assert isinstance(event, RoleUpdated)
                    writes.append(self._name(org_id, role_id, event.name, claim.ClaimValue))
            return writes

        return execute(self.store, ctx, attempt, retries=self.retries, seal=seal,
                       pinned=expected_version is not None)

    def _name(self, org_id: UUID, role_id: UUID, name: str,
              change: type[claim.ClaimValue | claim.ReleaseValue]) -> StreamWrite:
        return decided(self.store, claim.DECIDER, claim.role_name_stream_id(org_id, name), org_id,
                       change(kind=claim.ROLE_NAME, value=name.strip().lower(), owner_id=role_id))


def custom_role(store: EventStore, organization_id: UUID, role_ref: str) -> role.Role | None:
    """The organization's active custom role ``role_ref`` names, if there is one."""
    try:
        role_id = UUID(role_ref)
    except ValueError:
        return None
    found = load(store, role.DECIDER, role_id).state
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
    """The role must exist in the organization; a grantor (an API key, a user) may not hand
    out more than it holds, through the role or its own grants."""
    if not is_system(role_ref) and custom_role(store, organization_id,
                                               rules.role(role_ref)) is None:
        raise NotFound("role not found", field="role", code="role_not_found")
    check_no_escalation(effective_permissions(role_permissions(store, organization_id, role_ref),
                                              extra), grantor)
