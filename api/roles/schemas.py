"""Request and response bodies of the role routes."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from msgspec import Meta

from api.platform.bodies import Body, Permissions
from api.platform.schemas import Out
from domain import limits as lim
from domain.permissions import ApiPermission

RoleName = Annotated[str, Meta(min_length=1, max_length=lim.MAX_ROLE_NAME)]
Description = Annotated[str, Meta(max_length=lim.MAX_DESCRIPTION)]


class CreateRoleBody(Body, frozen=True):
    name: RoleName
    organization_id: UUID | None = None
    description: Description = ""
    permissions: Permissions = []


class UpdateRoleBody(Body, frozen=True):
    name: RoleName | None = None
    description: Description | None = None
    permissions: Permissions | None = None


class RoleOut(Out, frozen=True):
    """The seed's UserRole; system roles have their name as id."""

    id: str
    name: str
    description: str
    is_system: bool
    permissions: list[ApiPermission]
    organization_id: UUID | None = None
    version: int = 0


class RoleList(Out, frozen=True):
    data: list[RoleOut]
