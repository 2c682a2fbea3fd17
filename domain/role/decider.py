"""Custom role decider: create, update, delete; names are claimed per organization by commands."""

from __future__ import annotations

from typing import Literal, assert_never
from uuid import UUID

import msgspec

from domain.decider import Decider
from domain.errors import AlreadyExists, InvalidValue, NotFound
from domain.limits import MAX_ROLE_NAME, check_description, check_permissions
from domain.permissions import ApiPermission
from domain.role.events import RoleCreated, RoleDeleted, RoleEvent, RoleUpdated
from domain.role.system import is_system

Status = Literal["absent", "active", "deleted"]


class Role(msgspec.Struct, frozen=True, kw_only=True):
    status: Status = "absent"
    organization_id: UUID | None = None
    name: str = ""
    description: str = ""
    permissions: tuple[ApiPermission, ...] = ()


INITIAL = Role()


class CreateRole(msgspec.Struct, frozen=True, kw_only=True):
    organization_id: UUID
    name: str
    description: str = ""
    permissions: tuple[ApiPermission, ...] = ()


class UpdateRole(msgspec.Struct, frozen=True, kw_only=True):
    name: str | None = None
    description: str | None = None
    permissions: tuple[ApiPermission, ...] | None = None


class DeleteRole(msgspec.Struct, frozen=True, kw_only=True):
    pass


RoleCommand = CreateRole | UpdateRole | DeleteRole


def evolve(state: Role, event: RoleEvent) -> Role:
    match event:
        case RoleCreated():
            return Role(status="active", organization_id=event.organization_id, name=event.name,
                        description=event.description, permissions=event.permissions)
        case RoleUpdated():
            return msgspec.structs.replace(state, name=event.name, description=event.description,
                                           permissions=event.permissions)
        case RoleDeleted():
            return msgspec.structs.replace(state, status="deleted")
        case _:
            return state


def decide(command: RoleCommand, state: Role) -> list[RoleEvent]:
    match command:
        case CreateRole():
            if state.status != "absent":
                raise AlreadyExists("role already exists", code="role_exists")
            return [RoleCreated(organization_id=command.organization_id,
                                name=_name(command.name),
                                description=_description(command.description),
                                permissions=_permissions(command.permissions))]
        case UpdateRole():
            _require_active(state)
            updated = RoleUpdated(
                name=state.name if command.name is None else _name(command.name),
                description=state.description if command.description is None
                else _description(command.description),
                permissions=state.permissions if command.permissions is None
                else _permissions(command.permissions))
            unchanged = (updated.name, updated.description, updated.permissions) == (
                state.name, state.description, state.permissions)
            return [] if unchanged else [updated]
        case DeleteRole():
            _require_active(state)
            return [RoleDeleted(name=state.name)]
        case _:
            assert_never(command)


def _name(raw: str) -> str:
    name = raw.strip()
    if not name or len(name) > MAX_ROLE_NAME:
        raise InvalidValue(f"role name must be 1-{MAX_ROLE_NAME} characters", field="name",
                           code="role_name_invalid", params={"max": MAX_ROLE_NAME})
    if is_system(name.lower()):
        raise InvalidValue(f"{name!r} is a system role's name", field="name",
                           code="role_name_reserved", params={"name": name})
    return name


def _description(raw: str) -> str:
    return check_description(raw, "role_description_too_long")


def _permissions(permissions: tuple[ApiPermission, ...]) -> tuple[ApiPermission, ...]:
    check_permissions(permissions, "role_too_many_permissions")
    return permissions


def _require_active(state: Role) -> None:
    if state.status != "active":
        raise NotFound("role not found", code="role_not_found")


DECIDER = Decider("role", INITIAL, evolve, decide)
