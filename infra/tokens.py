"""Access tokens: RS256 JWTs signed with the key ring, verified locally, and the in-memory set
of revoked sessions and token ids: recorded in PostgreSQL, pushed to every API process over
Redis pub/sub, and reloaded from PostgreSQL (never from Redis, which may restart empty)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from uuid import UUID

import jwt
import msgspec
import redis.asyncio as aioredis
from psycopg_pool import AsyncConnectionPool
from redis.exceptions import RedisError

from domain.permissions import ApiPermission, scope_permissions
from infra.signing import KeyRing

LEEWAY_S = 30
MAX_TOKEN_CHARS = 8192
DENY_CHANNEL = "revocations"
PrincipalKind = Literal["user", "oauth_client"]
DDL = [
    "CREATE TABLE IF NOT EXISTS revocations (item text PRIMARY KEY, until timestamptz NOT NULL)",
    "CREATE INDEX IF NOT EXISTS revocations_until_idx ON revocations (until)",
]
log = logging.getLogger("chronicle.tokens")


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
    """Revoked session ids and token ids, in memory.

    The durable record is PostgreSQL's ``revocations`` table, each row kept until no token
    it covers can still be valid, and written before anything else: neither Redis restarting
    empty nor a lost message brings a revoked token back. Each revocation is also published,
    so every API process adds it at once; each reloads the whole set from the table every
    ``reload_s`` (and after its feed was lost), which bounds what a lost message costs.
    """

    pool: AsyncConnectionPool
    redis: aioredis.Redis
    channel: str
    reload_s: float = 10.0
    denied: set[str] = field(default_factory=set)
    added: set[str] = field(default_factory=set)  # learnt while a reload was in flight
    stale: asyncio.Event = field(default_factory=asyncio.Event)

    def __contains__(self, item: str) -> bool:
        return item in self.denied

    def _add(self, items: list[str]) -> None:
        self.denied.update(items)
        self.added.update(items)

    def on_message(self, data: str) -> None:
        self._add([part for part in data.split(",") if part])

    def reset(self) -> None:
        self.stale.set()

    async def load(self) -> None:
        self.added = set()
        async with self.pool.connection() as conn:
            await conn.execute("DELETE FROM revocations WHERE until < now()")
            cur = await conn.execute("SELECT item FROM revocations")
            rows = await cur.fetchall()
        self.denied = {row[0] for row in rows} | self.added

    async def revoke(self, items: list[str], lifetime: timedelta) -> None:
        until = datetime.now(UTC) + lifetime + timedelta(seconds=LEEWAY_S)
        async with self.pool.connection() as conn:
            await conn.execute(
                "INSERT INTO revocations (item, until) SELECT unnest(%s::text[]), %s"
                " ON CONFLICT (item) DO UPDATE"
                " SET until = greatest(revocations.until, excluded.until)", (items, until))
        self._add(items)
        try:
            await self.redis.publish(self.channel, ",".join(items))
        except RedisError as exc:  # recorded already: the others reload it within reload_s
            log.warning("could not publish a revocation: %s", exc)

    async def follow(self) -> None:
        """Reload the whole set every ``reload_s``, and at once after a lost feed."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stale.wait(), self.reload_s)
            self.stale.clear()
            try:
                await self.load()
            except Exception as exc:  # keep the set we have; the next tick tries again
                log.warning("could not reload the revocations: %s", exc)
