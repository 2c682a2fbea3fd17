"""Request and response bodies of the organization routes (camelCase JSON, unknown fields
rejected)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from api.platform.bodies import (
    Body,
    Cidrs,
    Days,
    Minutes,
    Name,
    Origins,
    RateLimitIn,
    Reason,
    SettingsIn,
    Slug,
    Timezone,
    check_timezone,
)
from api.platform.schemas import Out, PaginationInfo
from domain.envelope import Actor
from domain.organization.events import OrganizationSettings, Plan, QuotaPolicy, RateLimit


class CreateOrganizationBody(Body, frozen=True):
    name: Name
    slug: Slug
    plan: Plan = "free"
    settings: SettingsIn = SettingsIn()


class RetentionPatch(Body, frozen=True):
    logs: Days | None = None
    analytics: Days | None = None
    backups: Days | None = None


class SecurityPatch(Body, frozen=True):
    require_https: bool | None = None
    allowed_origins: Origins | None = None
    session_timeout: Minutes | None = None


class SettingsPatch(Body, frozen=True):
    timezone: Timezone | None = None
    ip_whitelist: Cidrs | None = None
    data_retention: RetentionPatch | None = None
    security: SecurityPatch | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        check_timezone(self.timezone)


class UpdateOrganizationBody(Body, frozen=True):
    name: Name | None = None
    plan: Plan | None = None
    settings: SettingsPatch | None = None
    # The platform operator's override of the plan's limits; null: back to the plan's.
    rate_limit: RateLimitIn | msgspec.UnsetType | None = msgspec.UNSET
    # The platform operator's override of the plan's policy past a usage quota; null: the plan's.
    quota_policy: QuotaPolicy | msgspec.UnsetType | None = msgspec.UNSET


class SuspendBody(Body, frozen=True):
    reason: Reason = ""


class OrganizationOut(Out, frozen=True):
    id: UUID
    name: str
    slug: str
    plan: Plan
    settings: OrganizationSettings
    status: str
    version: int
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = None
    rate_limit: RateLimit | None = None  # the operator's override; None: the plan's limits
    quota_policy: QuotaPolicy | None = None  # the operator's override; None: the plan's policy


class OrganizationPage(Out, frozen=True):
    data: list[OrganizationOut]
    pagination: PaginationInfo


class HistoryItem(Out, frozen=True):
    event_id: UUID
    type: str
    version: int
    occurred_at: datetime
    actor: Actor
    request_id: str
    correlation_id: str
    causation_id: str
    data: dict[str, Any]


class History(Out, frozen=True):
    organization_id: UUID
    data: list[HistoryItem]
