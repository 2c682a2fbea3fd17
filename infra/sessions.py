"""Login sessions (the seed's Session and DeviceInfo) in Redis, and the tokens they issue: an
access JWT and an opaque, rotating refresh token.

A session is one refresh-token family. Each refresh hands out a new refresh token and keeps
the hashes of spent ones; presenting a spent one again means it was copied, so the whole
session is revoked (its access tokens too, through the deny set) and the caller gets
``refresh_token_reused``. Only HMAC-SHA256(API_SECRET, token) of a refresh token is stored.
Spent hashes are also recorded in PostgreSQL (infra/replay.py), and revoked sessions in the
deny set's table, so a Redis that comes back empty or with an older copy of a session
cannot make a spent or revoked refresh token work again.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, NamedTuple
from uuid import UUID

import msgspec
import redis.asyncio as aioredis

from domain.permissions import ApiPermission
from infra.replay import SpentRefreshTokens
from infra.tokens import DenySet, TokenService

REFRESH_FORMAT = re.compile(r"^rt_([0-9a-f]{32})_([A-Za-z0-9_-]{43})$")
# KEYS: refresh hash, spent hashes; ARGV: presented hash, new hash, new TTL in ms.
# 1: rotated; 2: a spent token (reuse); 0: unknown, expired or revoked.
_ROTATE = """
local current = redis.call('GET', KEYS[1])
if not current then return 0 end
if current == ARGV[1] then
  redis.call('SADD', KEYS[2], ARGV[1])
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
  return 1
end
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then return 2 end
return 0
"""


class Identity(NamedTuple):
    """Who logs in; commands/users.py's Authenticated has this shape."""

    user_id: UUID
    organization_id: UUID
    email: str
    role: str
    permissions: tuple[ApiPermission, ...]


class DeviceInfo(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    type: Literal["web", "mobile", "desktop", "api"] = "api"
    os: str | None = None
    browser: str | None = None
    version: str | None = None
    fingerprint: str = ""


class Session(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    id: str
    user_id: UUID
    organization_id: UUID
    email: str
    role: str
    permissions: tuple[ApiPermission, ...]
    device_info: DeviceInfo
    ip_address: str
    user_agent: str
    is_active: bool
    expires_at: datetime
    last_accessed_at: datetime
    created_at: datetime
    client_id: str | None = None  # an OAuth client acting for the user, within ``scope``
    scope: str = ""


class Tokens(NamedTuple):
    access_token: str
    refresh_token: str
    expires_in: int
    session: Session


class RefreshRefused(Exception):
    def __init__(self, code: Literal["refresh_token_invalid", "refresh_token_reused"]) -> None:
        super().__init__(code)
        self.code = code


def hash_refresh(secret: str, token: str) -> str:
    return hmac.new(secret.encode(), token.encode(), hashlib.sha256).hexdigest()


@dataclass
class SessionService:
    redis: aioredis.Redis
    tokens: TokenService
    deny: DenySet
    secret: str  # API_SECRET: refresh tokens are stored as its HMAC
    prefix: str
    idle_ttl_s: int  # REDIS_SESSION_TTL, capped by the organization's sessionTimeout
    absolute_ttl_s: int  # JWT_REFRESH_TTL_S: no refresh extends a session past this
    spent: SpentRefreshTokens  # the durable record of rotated-away refresh tokens

    def _key(self, sid: str, part: str = "") -> str:
        return f"{self.prefix}session:{sid}{part}"

    def _index(self, kind: str, owner: UUID) -> str:
        return f"{self.prefix}sessions:{kind}:{owner}"

    def ttl_for(self, session_timeout_s: int | None) -> int:
        return min(self.idle_ttl_s, session_timeout_s) if session_timeout_s else self.idle_ttl_s

    async def start(self, who: Identity, *, now: datetime, device: DeviceInfo, ip_address: str,
                    user_agent: str, session_timeout_s: int | None = None,
                    client_id: str | None = None, scope: str = "") -> Tokens:
        """A new session for ``who`` with its first access and refresh tokens."""
        sid = uuid.uuid4().hex
        ttl = self.ttl_for(session_timeout_s)
        session = Session(
            id=sid, user_id=who.user_id, organization_id=who.organization_id, email=who.email,
            role=who.role, permissions=who.permissions, device_info=device,
            ip_address=ip_address, user_agent=user_agent[:512], is_active=True,
            expires_at=now + timedelta(seconds=ttl), last_accessed_at=now, created_at=now,
            client_id=client_id, scope=scope)
        refresh = f"rt_{sid}_{secrets.token_urlsafe(32)}"
        score = (now + timedelta(seconds=self.absolute_ttl_s)).timestamp()
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self._key(sid), msgspec.json.encode(session), ex=ttl)
            pipe.set(self._key(sid, ":refresh"), hash_refresh(self.secret, refresh), ex=ttl)
            pipe.zadd(self._index("user", who.user_id), {sid: score})
            pipe.zadd(self._index("org", who.organization_id), {sid: score})
            await pipe.execute()
        return self._tokens(session, refresh, now)

    def _tokens(self, session: Session, refresh: str, now: datetime) -> Tokens:
        access, claims = self.tokens.issue(
            subject=str(session.user_id), organization_id=session.organization_id, kind="user",
            now=now, role=session.role, session_id=session.id, not_after=session.expires_at,
            client_id=session.client_id, scope=session.scope,
            permissions=None if session.client_id else session.permissions)
        return Tokens(access, refresh, claims.exp - claims.iat, session)

    async def get(self, sid: str) -> Session | None:
        raw = await self.redis.get(self._key(sid))
        return msgspec.json.decode(raw, type=Session) if raw else None

    async def refresh(self, presented: str, now: datetime,
                      session_timeout_s: int | None = None) -> Tokens:
        """New tokens for a current refresh token; a spent one revokes its whole session."""
        match = REFRESH_FORMAT.match(presented)
        if match is None:
            raise RefreshRefused("refresh_token_invalid")
        sid = match.group(1)
        session = await self.get(sid)
        # The deny set outlives Redis: a session revoked before Redis lost (or rolled back)
        # its data stays revoked.
        if session is None or not session.is_active or f"sid:{sid}" in self.deny:
            raise RefreshRefused("refresh_token_invalid")
        idle = self.ttl_for(session_timeout_s)
        ends = min(now + timedelta(seconds=idle),
                   session.created_at + timedelta(seconds=self.absolute_ttl_s))
        ttl_ms = int((ends - now).total_seconds() * 1000)
        if ttl_ms <= 0:
            raise RefreshRefused("refresh_token_invalid")
        fresh, hashed = f"rt_{sid}_{secrets.token_urlsafe(32)}", hash_refresh(self.secret, presented)
        outcome = await self.redis.eval(
            _ROTATE, 2, self._key(sid, ":refresh"), self._key(sid, ":spent"),
            hashed, hash_refresh(self.secret, fresh), str(ttl_ms))
        if outcome == 1 and not await self.spent.spend(
                hashed, sid, session.created_at + timedelta(seconds=self.absolute_ttl_s)):
            outcome = 2  # Redis forgot it was spent; PostgreSQL did not
        if outcome == 2:
            await self.revoke(session)
            raise RefreshRefused("refresh_token_reused")
        if outcome != 1:
            raise RefreshRefused("refresh_token_invalid")
        session = msgspec.structs.replace(session, last_accessed_at=now, expires_at=ends)
        await self.redis.set(self._key(sid), msgspec.json.encode(session), px=ttl_ms)
        return self._tokens(session, fresh, now)

    async def revoke(self, session: Session) -> None:
        """End the session: no more refreshes, and its access tokens are refused everywhere.
        The durable revocation comes first, so a Redis failure here cannot undo it."""
        # Kept while any of its access tokens, or the session record itself (were Redis to
        # come back with an older copy), could still be presented.
        lifetime = max(session.expires_at - datetime.now(UTC),
                       timedelta(seconds=self.tokens.access_ttl_s))
        await self.deny.revoke([f"sid:{session.id}"], lifetime)
        ended = msgspec.structs.replace(session, is_active=False)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._key(session.id, ":refresh"))
            pipe.set(self._key(session.id), msgspec.json.encode(ended), keepttl=True, xx=True)
            await pipe.execute()

    async def list(self, *, user_id: UUID | None = None,
                   organization_id: UUID | None = None) -> list[Session]:
        """Active sessions of a user, or of an organization (newest first)."""
        index = self._index("user", user_id) if user_id else self._index(
            "org", organization_id) if organization_id else None
        if index is None:
            return []
        sids = [s.decode() if isinstance(s, bytes) else str(s)
                for s in await self.redis.zrange(index, 0, 999, desc=True)]
        if not sids:
            return []
        raws = await self.redis.mget([self._key(s) for s in sids])
        found = [msgspec.json.decode(r, type=Session) for r in raws if r]
        gone = [s for s, r in zip(sids, raws, strict=True) if not r]
        if gone:
            await self.redis.zrem(index, *gone)
        live = [s for s in found if s.is_active and (user_id is None or s.user_id == user_id)]
        return sorted(live, key=lambda s: s.created_at, reverse=True)
