"""Request and response bodies of the API key routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

from api.platform.bodies import Body, Name, Permissions, RateLimitIn
from api.platform.schemas import Out
from domain.limits import MAX_GRACE_SECONDS, MAX_ROLE_REF
from domain.organization.plans import RateLimit
from domain.permissions import ApiPermission


class CreateApiKeyBody(Body, frozen=True):
    name: Name
    organization_id: UUID | None = None
    environment: Literal["live", "test"] = "live"
    permissions: Permissions = []
    rate_limit: RateLimitIn | None = None
    expires_at: datetime | None = None
    require_signature: bool = False
    role: Annotated[str, Meta(min_length=1, max_length=MAX_ROLE_REF, description=(
        "The role the key can never exceed: owner, admin, member, viewer or a custom role's "
        "id. Defaults to the issuer's own role (none when the operator issues it)."))] | None = None


class RollBody(Body, frozen=True):
    grace_period_seconds: Annotated[int, Meta(ge=0, le=MAX_GRACE_SECONDS)] = 86400


class ApiKeyOut(Out, frozen=True, kw_only=True):
    id: UUID
    organization_id: UUID
    name: str
    environment: str
    key_prefix: str
    status: str
    permissions: list[ApiPermission]
    rate_limit: RateLimit | None
    expires_at: datetime | None
    previous_valid_until: datetime | None
    created_by: str
    created_at: datetime
    last_used_at: datetime | None = None
    require_signature: bool = False
    role: str | None = None
    version: int


class IssuedKey(Out, frozen=True):
    id: UUID
    key: str  # shown once; only its keyed hash is stored
    version: int
    position: int | None
    # For Chronicle-Signature (api/auth/signing.py); shown once, derived from the key, never stored.
    signing_secret: str | None = None


class ApiKeyList(msgspec.Struct, frozen=True, kw_only=True):
    data: list[ApiKeyOut]
