"""Organization commands: what a caller asks of an organization."""

from __future__ import annotations

import msgspec

from domain.organization.events import OrganizationSettings, Plan, QuotaPolicy, RateLimit


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


class SetRateLimit(msgspec.Struct, frozen=True, kw_only=True):
    """The platform operator's override of the plan's limits (None: back to the plan's)."""

    rate_limit: RateLimit | None


class SetQuotaPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """The platform operator's override of the plan's policy past a quota (None: the plan's)."""

    quota_policy: QuotaPolicy | None


OrganizationCommand = (
    CreateOrganization
    | RenameOrganization
    | ChangePlan
    | UpdateSettings
    | SuspendOrganization
    | ReactivateOrganization
    | DeleteOrganization
    | SetRateLimit
    | SetQuotaPolicy
)
