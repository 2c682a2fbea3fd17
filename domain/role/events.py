"""Custom role events, tagged ``role.<Name>`` (the seed's UserRole with isSystem false)."""

from __future__ import annotations

from uuid import UUID

import msgspec

from domain.permissions import ApiPermission


class _Event(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    pass


class RoleCreated(_Event, tag="role.Created", frozen=True):
    organization_id: UUID
    name: str
    description: str
    permissions: tuple[ApiPermission, ...]


class RoleUpdated(_Event, tag="role.Updated", frozen=True):
    name: str
    description: str
    permissions: tuple[ApiPermission, ...]


class RoleDeleted(_Event, tag="role.Deleted", frozen=True):
    name: str


RoleEvent = RoleCreated | RoleUpdated | RoleDeleted
