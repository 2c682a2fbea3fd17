"""API key events, tagged ``apikey.<Name>``."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

import msgspec

from domain.organization.plans import RateLimit

Environment = Literal["live", "test"]
Action = Literal["create", "read", "update", "delete"]


class Conditions(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    fields: tuple[str, ...] | None = None
    filters: dict[str, str | int | float | bool] | None = None


class ApiPermission(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The seed's ApiPermission."""

    resource: str
    actions: tuple[Action, ...]
    conditions: Conditions | None = None


class _Event(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    pass


class ApiKeyCreated(_Event, tag="apikey.Created", frozen=True):
    organization_id: UUID
    name: str
    environment: Environment
    hashed_key: str
    permissions: tuple[ApiPermission, ...]
    created_by: str
    rate_limit: RateLimit | None = None
    expires_at: datetime | None = None
    require_signature: bool = False  # every request must carry Chronicle-Signature
    # The role the key can never exceed: a system role's name or a custom role's id.
    role: str | None = None


class ApiKeyRolled(_Event, tag="apikey.Rolled", frozen=True):
    hashed_key: str
    previous_hashed_key: str
    previous_valid_until: datetime


class ApiKeyRevoked(_Event, tag="apikey.Revoked", frozen=True):
    reason: str = ""


ApiKeyEvent = ApiKeyCreated | ApiKeyRolled | ApiKeyRevoked
