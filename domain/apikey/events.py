"""API key events, tagged ``apikey.<Name>``."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

import msgspec

from domain.organization.plans import RateLimit
from domain.permissions import ApiPermission

Environment = Literal["live", "test"]

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
