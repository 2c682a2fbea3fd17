"""API key use cases: issue (the secret is returned once), roll with a grace period, revoke.

A key reads ``pk_<live|test>_<key id hex>_<secret>``; only HMAC-SHA256(API_SECRET, key) is
stored, so the key id finds the record without a search and the secret never persists.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta
from typing import NamedTuple
from uuid import UUID

from commands.ports import EventStore
from commands.roles import check_grant, custom_role
from commands.runner import Context, Loaded, Result, Seal, StreamWrite, decided, execute, load, write
from domain.apikey import decider as key
from domain.apikey.events import Environment
from domain.errors import ForeignNotFound, NotFound
from domain.organization import decider as org
from domain.organization.plans import RateLimit
from domain.organization.rules import require_active
from domain.permissions import ApiPermission, check_no_escalation
from domain.role.system import is_system

KEY_FORMAT = re.compile(r"^pk_(live|test)_([0-9a-f]{32})_([A-Za-z0-9_-]{32,64})$")


class Issued(NamedTuple):
    result: Result
    secret: str

    def signing_secret(self, api_secret: str) -> str:
        return signing_secret(api_secret, hash_key(api_secret, self.secret))


class Presented(NamedTuple):
    key_id: UUID
    environment: str


def parse(presented: str) -> Presented | None:
    """The key id and environment a presented key names, or None if it is not a key."""
    match = KEY_FORMAT.match(presented)
    return Presented(UUID(match.group(2)), match.group(1)) if match else None


def hash_key(secret_key: str, presented: str) -> str:
    return hmac.new(secret_key.encode(), presented.encode(), hashlib.sha256).hexdigest()


def signing_secret(secret_key: str, hashed: str) -> str:
    """The key's request-signing secret, derived from its stored hash (so a roll changes it,
    and nothing more needs storing): shown with the key, never stored."""
    derived = hmac.new(secret_key.encode(), f"request-signing:{hashed}".encode(), hashlib.sha256)
    return f"sk_sign_{derived.hexdigest()}"


def new_key(environment: str, key_id: UUID) -> str:
    return f"pk_{environment}_{key_id.hex}_{secrets.token_urlsafe(32)}"


class ApiKeyCommands:
    def __init__(self, store: EventStore, api_secret: str, *, retries: int = 5) -> None:
        self.store, self.api_secret, self.retries = store, api_secret, retries

    def create(self, ctx: Context, organization_id: UUID, *, name: str, environment: Environment,
               permissions: tuple[ApiPermission, ...], rate_limit: RateLimit | None,
               expires_at: datetime | None, require_signature: bool = False,
               role: str | None = None, grantor: tuple[ApiPermission, ...] | None = None,
               seal: Seal | None = None) -> Issued:
        """``grantor``: what the issuer holds (None: the operator); the key and the role it
        may never exceed are both within it."""
        check_no_escalation(permissions, grantor)
        if role is not None and grantor is not None:
            check_grant(self.store, organization_id, role, (), grantor)
        key_id = ctx.new_id()
        plaintext = new_key(environment, key_id)
        command = key.CreateApiKey(
            organization_id=organization_id, name=name, environment=environment,
            hashed_key=hash_key(self.api_secret, plaintext), permissions=permissions,
            rate_limit=rate_limit, expires_at=expires_at, created_by=ctx.actor.id,
            require_signature=require_signature, role=role, now=ctx.clock())

        def attempt() -> list[StreamWrite]:
            if role is not None and not is_system(role) and custom_role(
                    self.store, organization_id, role) is None:
                raise NotFound("role not found", field="role", code="role_not_found")
            require_active(load(self.store, org.DECIDER, organization_id).state,
                           "a suspended organization cannot get new API keys",
                           "organization_suspended_no_keys")
            return [decided(self.store, key.DECIDER, key_id, organization_id, command)]

        return Issued(execute(self.store, ctx, attempt, retries=self.retries, seal=seal),
                      plaintext)

    def roll(self, ctx: Context, organization_id: UUID | None, key_id: UUID, grace: timedelta,
             seal: Seal | None = None) -> Issued:
        holder: list[str] = []

        def attempt() -> list[StreamWrite]:
            current = self._owned(organization_id, key_id)
            plaintext = new_key(current.state.environment, key_id)
            holder[:] = [plaintext]
            command = key.RollApiKey(hashed_key=hash_key(self.api_secret, plaintext),
                                     grace=grace, now=ctx.clock())
            return [self._write(key_id, current, command)]

        result = execute(self.store, ctx, attempt, retries=self.retries, seal=seal)
        return Issued(result, holder[0])

    def revoke(self, ctx: Context, organization_id: UUID | None, key_id: UUID, reason: str = "",
               seal: Seal | None = None) -> Result:
        def attempt() -> list[StreamWrite]:
            current = self._owned(organization_id, key_id)
            return [self._write(key_id, current, key.RevokeApiKey(reason=reason))]

        return execute(self.store, ctx, attempt, retries=self.retries, seal=seal)

    def _write(self, key_id: UUID, current: Loaded[key.ApiKey],
               command: key.ApiKeyCommand) -> StreamWrite:
        assert current.state.organization_id is not None
        return write(key.DECIDER, key_id, current.state.organization_id, current.version,
                     key.decide(command, current.state))

    def _owned(self, organization_id: UUID | None, key_id: UUID) -> Loaded[key.ApiKey]:
        """The key's stream; ``organization_id`` None is the operator, who sees every key."""
        current = load(self.store, key.DECIDER, key_id)
        if current.state.status == "absent":
            raise NotFound("API key not found", code="api_key_not_found")
        if organization_id is not None and current.state.organization_id != organization_id:
            # Another tenant's key does not exist here.
            raise ForeignNotFound("API key not found", code="api_key_not_found")
        return current
