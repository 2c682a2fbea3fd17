"""API key decider: create, roll (the old secret stays valid for a grace period), revoke."""

from __future__ import annotations

import hmac
from datetime import datetime, timedelta
from typing import Literal, assert_never
from uuid import UUID

import msgspec

from domain.apikey.events import ApiKeyCreated, ApiKeyEvent, ApiKeyRevoked, ApiKeyRolled, Environment
from domain.decider import Decider
from domain.errors import AlreadyExists, InvalidState, InvalidValue, NotFound
from domain.limits import MAX_GRACE_SECONDS, MAX_NAME, MAX_REASON, check_permissions
from domain.organization.plans import RateLimit, check_rate_limit
from domain.permissions import ApiPermission

Status = Literal["absent", "active", "revoked"]
MAX_GRACE = timedelta(seconds=MAX_GRACE_SECONDS)


class ApiKey(msgspec.Struct, frozen=True, kw_only=True):
    status: Status = "absent"
    organization_id: UUID | None = None
    environment: Environment = "live"
    hashed_key: str = ""
    previous_hashed_key: str = ""
    previous_valid_until: datetime | None = None
    expires_at: datetime | None = None
    require_signature: bool = False


INITIAL = ApiKey()


class CreateApiKey(msgspec.Struct, frozen=True, kw_only=True):
    organization_id: UUID
    name: str
    environment: Environment
    hashed_key: str
    permissions: tuple[ApiPermission, ...]
    rate_limit: RateLimit | None = None
    expires_at: datetime | None = None
    require_signature: bool = False
    role: str | None = None
    created_by: str
    now: datetime


class RollApiKey(msgspec.Struct, frozen=True, kw_only=True):
    hashed_key: str
    grace: timedelta
    now: datetime


class RevokeApiKey(msgspec.Struct, frozen=True, kw_only=True):
    reason: str = ""


ApiKeyCommand = CreateApiKey | RollApiKey | RevokeApiKey


def evolve(state: ApiKey, event: ApiKeyEvent) -> ApiKey:
    match event:
        case ApiKeyCreated():
            return ApiKey(status="active", organization_id=event.organization_id,
                          environment=event.environment, hashed_key=event.hashed_key,
                          expires_at=event.expires_at, require_signature=event.require_signature)
        case ApiKeyRolled():
            return msgspec.structs.replace(
                state, hashed_key=event.hashed_key, previous_hashed_key=event.previous_hashed_key,
                previous_valid_until=event.previous_valid_until)
        case ApiKeyRevoked():
            return msgspec.structs.replace(state, status="revoked")
        case _:
            return state


def decide(command: ApiKeyCommand, state: ApiKey) -> list[ApiKeyEvent]:
    match command:
        case CreateApiKey():
            if state.status != "absent":
                raise AlreadyExists("API key already exists", code="api_key_exists")
            return [_created(command)]
        case RollApiKey():
            _require_active(state)
            if not timedelta(0) <= command.grace <= MAX_GRACE:
                raise InvalidValue("grace period must be between 0 and 7 days",
                                   field="gracePeriodSeconds", code="api_key_grace_out_of_range")
            return [ApiKeyRolled(hashed_key=command.hashed_key,
                                 previous_hashed_key=state.hashed_key,
                                 previous_valid_until=command.now + command.grace)]
        case RevokeApiKey(reason=reason):
            _require_active(state)
            return [ApiKeyRevoked(reason=reason[:MAX_REASON])]
        case _:
            assert_never(command)


def _created(command: CreateApiKey) -> ApiKeyCreated:
    name = command.name.strip()
    if not name or len(name) > MAX_NAME:
        raise InvalidValue(f"name must be 1-{MAX_NAME} characters", field="name",
                           code="api_key_name_invalid")
    check_permissions(command.permissions, "api_key_too_many_permissions")
    if command.rate_limit is not None:
        check_rate_limit(command.rate_limit, "rateLimit")
    if command.expires_at is not None and command.expires_at <= command.now:
        raise InvalidValue("expiresAt must be in the future", field="expiresAt",
                           code="api_key_expiry_in_past")
    return ApiKeyCreated(
        organization_id=command.organization_id, name=name, environment=command.environment,
        hashed_key=command.hashed_key, permissions=command.permissions,
        rate_limit=command.rate_limit, expires_at=command.expires_at,
        created_by=command.created_by, require_signature=command.require_signature,
        role=command.role)


def _require_active(state: ApiKey) -> None:
    if state.status == "absent":
        raise NotFound("API key not found", code="api_key_not_found")
    if state.status == "revoked":
        raise InvalidState("API key has been revoked", code="api_key_revoked")


def accepts(state: ApiKey, hashed: str, now: datetime) -> bool:
    """Whether a presented key (already hashed) authenticates against this key's state."""
    if state.status != "active" or (state.expires_at is not None and now >= state.expires_at):
        return False
    if hmac.compare_digest(hashed, state.hashed_key):
        return True
    return (bool(state.previous_hashed_key)
            and hmac.compare_digest(hashed, state.previous_hashed_key)
            and state.previous_valid_until is not None and now < state.previous_valid_until)


DECIDER = Decider("apikey", INITIAL, evolve, decide)
