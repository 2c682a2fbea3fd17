"""Organization events: persisted facts, tagged ``organization.<Name>``; tags are never reused."""

from __future__ import annotations

from typing import Literal

import msgspec

Plan = Literal["free", "starter", "professional", "enterprise"]
PLANS: tuple[Plan, ...] = ("free", "starter", "professional", "enterprise")


class DataRetention(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    logs: int = 90
    analytics: int = 365
    backups: int = 30


class SecuritySettings(msgspec.Struct, frozen=True, kw_only=True, rename="camel",
                       forbid_unknown_fields=True):
    require_https: bool = True
    allowed_origins: tuple[str, ...] = ()
    session_timeout: int = 60


class OrganizationSettings(msgspec.Struct, frozen=True, kw_only=True, rename="camel",
                           forbid_unknown_fields=True):
    timezone: str = "UTC"
    ip_whitelist: tuple[str, ...] = ()
    data_retention: DataRetention = DataRetention()
    security: SecuritySettings = SecuritySettings()


class RateLimit(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """The seed's RateLimit."""

    requests_per_second: float
    burst_limit: int
    requests_per_minute: int
    requests_per_hour: int
    requests_per_day: int


# A plan's policy past a usage quota (domain/organization/plans.py says what each does).
QuotaPolicy = Literal["block_429", "block_402", "overage"]


class _Event(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    pass


class OrganizationCreated(_Event, tag="organization.Created", frozen=True):
    name: str
    slug: str
    plan: Plan
    settings: OrganizationSettings


class OrganizationRenamed(_Event, tag="organization.Renamed", frozen=True):
    name: str
    previous_name: str


class OrganizationPlanChanged(_Event, tag="organization.PlanChanged", frozen=True):
    plan: Plan
    previous_plan: Plan


class OrganizationSettingsUpdated(_Event, tag="organization.SettingsUpdated", frozen=True):
    settings: OrganizationSettings


class OrganizationSuspended(_Event, tag="organization.Suspended", frozen=True):
    reason: str = ""


class OrganizationReactivated(_Event, tag="organization.Reactivated", frozen=True):
    pass


class OrganizationDeleted(_Event, tag="organization.Deleted", frozen=True):
    slug: str


class OrganizationRateLimitChanged(_Event, tag="organization.RateLimitChanged", frozen=True):
    """The operator's per-organization override of its plan's limits; None: the plan's again."""

    rate_limit: RateLimit | None
    previous_rate_limit: RateLimit | None = None


class OrganizationQuotaPolicyChanged(_Event, tag="organization.QuotaPolicyChanged", frozen=True):
    """The operator's per-organization override of its plan's policy past a usage quota;
    None: the plan's again."""

    quota_policy: QuotaPolicy | None
    previous_quota_policy: QuotaPolicy | None = None


OrganizationEvent = (
    OrganizationCreated
    | OrganizationRenamed
    | OrganizationPlanChanged
    | OrganizationSettingsUpdated
    | OrganizationSuspended
    | OrganizationReactivated
    | OrganizationDeleted
    | OrganizationRateLimitChanged
    | OrganizationQuotaPolicyChanged
)
