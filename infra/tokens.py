"""Access tokens: RS256 JWTs signed with the key ring, verified locally, and the in-memory set
of revoked sessions and token ids that API processes learn over Redis pub/sub."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal
from uuid import UUID

import jwt
import msgspec
import redis.asyncio as aioredis

from domain.apikey.events import Action, ApiPermission
from infra.signing import KeyRing

LEEWAY_S = 30
MAX_TOKEN_CHARS = 8192
DENY_CHANNEL = "revocations"
PrincipalKind = Literal["user", "oauth_client"]
ACTIONS: tuple[Action, ...] = ("create", "read", "update", "delete")


class TokenError(Exception):
    """A token that does not authenticate: ``code`` is token_expired, token_invalid or
    token_revoked."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class Claims(msgspec.Struct, frozen=True, kw_only=True):
    iss: str
    aud: str
    sub: str
    org: UUID
    kind: PrincipalKind
    jti: str
    iat: int
    nbf: int
    exp: int
    scope: str = ""
    role: str | None = None
    sid: str | None = None
    client_id: str | None = None
    perms: tuple[ApiPermission, ...] | None = None  # a user's effective permissions

    @property
    def permissions(self) -> tuple[ApiPermission, ...]:
        return self.perms if self.perms is not None else scope_permissions(self.scope)


def scope_permissions(scope: str) -> tuple[ApiPermission, ...]:
    """OAuth scopes ``resource:action`` as permissions (one grant per resource)."""
    by_resource: dict[str, list[Action]] = {}
    for item in scope.split():
        resource, _, action = item.partition(":")
        if resource and action in ACTIONS:
            by_resource.setdefault(resource, []).append(action)
    return tuple(ApiPermission(resource=r, actions=tuple(dict.fromkeys(a)))
                 for r, a in by_resource.items())


def valid_scope(item: str) -> bool:
    resource, _, action = item.partition(":")
    return bool(resource) and action in ACTIONS


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2 and not token.startswith("pk_")


@dataclass
class TokenService:
    ring: KeyRing
    issuer: str
    audience: str
    access_ttl_s: int

    def issue(self, *, subject: str, organization_id: UUID, kind: PrincipalKind, now: datetime,
              scope: str = "", role: str | None = None, session_id: str | None = None,
              client_id: str | None = None, permissions: tuple[ApiPermission, ...] | None = None,
              not_after: datetime | None = None) -> tuple[str, Claims]:
        """A signed access token; it never outlives ``not_after`` (its session's expiry)."""
        key = self.ring.current
        issued = int(now.timestamp())
        expires = issued + self.access_ttl_s
        if not_after is not None:
            expires = min(expires, int(not_after.timestamp()))
        claims = Claims(iss=self.issuer, aud=self.audience, sub=subject, org=organization_id,
                        kind=kind, jti=uuid.uuid4().hex, iat=issued, nbf=issued, exp=expires,
                        scope=scope, role=role, sid=session_id, client_id=client_id,
                        perms=permissions)
        payload = msgspec.to_builtins(claims, builtin_types=None)
        payload = {k: v for k, v in payload.items() if v is not None}
        assert key.private is not None
        token = jwt.encode(payload, key.private, algorithm="RS256", headers={"kid": key.kid})
        return token, claims

    def verify(self, token: str, now: datetime) -> Claims:
        """The token's claims, or TokenError: alg pinned to RS256, the kid must be published."""
        if len(token) > MAX_TOKEN_CHARS:
            raise TokenError("token_invalid", "the token is too long")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise TokenError("token_invalid", "the token is malformed") from None
        kid = header.get("kid")
        if header.get("alg") != "RS256" or not isinstance(kid, str):
            raise TokenError("token_invalid", "the token is not signed with RS256 and a kid")
        key = self.ring.public(kid, now)
        if key is None:
            raise TokenError("token_invalid", "the token's signing key is not known")
        try:
            payload: dict[str, Any] = jwt.decode(
                token, key.public, algorithms=["RS256"], audience=self.audience,
                issuer=self.issuer, leeway=LEEWAY_S,
                options={"require": ["exp", "iat", "nbf", "iss", "aud", "sub", "jti"]})
        except jwt.ExpiredSignatureError:
            raise TokenError("token_expired", "the token has expired") from None
        except jwt.PyJWTError as exc:
            raise TokenError("token_invalid", f"the token is not valid: {exc}") from None
        try:
            return msgspec.convert(payload, Claims, strict=False)
        except msgspec.ValidationError:
            raise TokenError("token_invalid", "the token's claims are not valid") from None


@dataclass
class DenySet:
    """Revoked session ids and token ids, in memory. Redis holds them in a sorted set scored by
    when they stop mattering (the longest a token they could cover lives); every revocation is
    also published, so every API process adds it at once."""

    redis: aioredis.Redis
    key: str  # the sorted set
    channel: str
    denied: set[str] = field(default_factory=set)
    stale: asyncio.Event = field(default_factory=asyncio.Event)

    def __contains__(self, item: str) -> bool:
        return item in self.denied

    def on_message(self, data: str) -> None:
        self.denied.update(part for part in data.split(",") if part)

    def reset(self) -> None:
        self.stale.set()

    async def load(self) -> None:
        now = time.time()
        await self.redis.zremrangebyscore(self.key, "-inf", now)
        members = await self.redis.zrangebyscore(self.key, now, "+inf")
        self.denied = {m.decode() if isinstance(m, bytes) else str(m) for m in members}

    async def revoke(self, items: list[str], lifetime: timedelta) -> None:
        until = time.time() + lifetime.total_seconds() + LEEWAY_S
        self.denied.update(items)
        await self.redis.zadd(self.key, dict.fromkeys(items, until))
        await self.redis.publish(self.channel, ",".join(items))

    async def follow(self, every_s: float = 60.0) -> None:
        """Reload the whole set after a lost feed (a message may be missed) and every minute."""
        while True:
            with contextlib.suppress(Exception):
                await self.load()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stale.wait(), every_s)
            self.stale.clear()
