"""Organization commands: what a caller asks of an organization."""

from __future__ import annotations

import msgspec

from domain.organization.events import OrganizationSettings, Plan


class CreateOrganization(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    slug: str
    plan: Plan = "free"
    settings: OrganizationSettings = OrganizationSettings()


class RenameOrganization(msgspec.Struct, frozen=True, kw_only=True):
    name: str


class ChangePlan(msgspec.Struct, frozen=True, kw_only=True):
    plan: Plan


class UpdateSettings(msgspec.Struct, frozen=True, kw_only=True):
    settings: OrganizationSettings


class SuspendOrganization(msgspec.Struct, frozen=True, kw_only=True):
    reason: str = ""


class ReactivateOrganization(msgspec.Struct, frozen=True, kw_only=True):
    pass


class DeleteOrganization(msgspec.Struct, frozen=True, kw_only=True):
    pass


OrganizationCommand = (
    CreateOrganization
    | RenameOrganization
    | ChangePlan
    | UpdateSettings
    | SuspendOrganization
    | ReactivateOrganization
    | DeleteOrganization
)
