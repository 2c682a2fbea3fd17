"""Request and response bodies of the HTTP API (camelCase JSON, unknown fields rejected)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from msgspec import Meta

from domain.envelope import Actor
from domain.organization.events import OrganizationSettings, Plan, RateLimit

Name = Annotated[str, Meta(min_length=1, max_length=255)]
Slug = Annotated[str, Meta(min_length=1, max_length=100, pattern=r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")]


class _In(msgspec.Struct, frozen=True, kw_only=True, rename="camel", forbid_unknown_fields=True):
    def __post_init__(self) -> None:
        # PostgreSQL text and jsonb cannot hold NUL: such a value would be written as an event
        # and then stop the read models at it. Refused here, at the boundary, with a 422.
        for field in msgspec.structs.fields(self):
            if _has_nul(getattr(self, field.name)):
                raise ValueError(f"{field.encode_name} must not contain NUL (\\u0000) characters")


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, msgspec.Struct):
        return any(_has_nul(getattr(value, f)) for f in value.__struct_fields__)
    return False


class CreateOrganizationBody(_In, frozen=True):
    name: Name
    slug: Slug
    plan: Plan = "free"
    settings: OrganizationSettings = OrganizationSettings()


class RetentionPatch(_In, frozen=True):
    logs: int | None = None
    analytics: int | None = None
    backups: int | None = None


class SecurityPatch(_In, frozen=True):
    require_https: bool | None = None
    allowed_origins: list[str] | None = None
    session_timeout: int | None = None


class SettingsPatch(_In, frozen=True):
    timezone: str | None = None
    ip_whitelist: list[str] | None = None
    data_retention: RetentionPatch | None = None
    security: SecurityPatch | None = None


class UpdateOrganizationBody(_In, frozen=True):
    name: Name | None = None
    plan: Plan | None = None
    settings: SettingsPatch | None = None
    # The platform operator's override of the plan's limits; null: back to the plan's.
    rate_limit: RateLimit | msgspec.UnsetType | None = msgspec.UNSET


class SuspendBody(_In, frozen=True):
    reason: Annotated[str, Meta(max_length=1000)] = ""


class _Out(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    pass


class OrganizationOut(_Out, frozen=True):
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


class CommandAccepted(_Out, frozen=True):
    id: UUID
    version: int
    position: int | None


class PaginationInfo(_Out, frozen=True):
    limit: int
    total: int
    total_pages: int
    has_next: bool
    has_prev: bool
    next_cursor: str | None = None
    prev_cursor: str | None = None


class OrganizationPage(_Out, frozen=True):
    data: list[OrganizationOut]
    pagination: PaginationInfo


class HistoryItem(_Out, frozen=True):
    event_id: UUID
    type: str
    version: int
    occurred_at: datetime
    actor: Actor
    request_id: str
    correlation_id: str
    causation_id: str
    data: dict[str, Any]


class History(_Out, frozen=True):
    organization_id: UUID
    data: list[HistoryItem]
