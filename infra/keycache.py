"""An in-process cache of API keys for authentication, invalidated by the projector's events."""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import datetime
from typing import Any, NamedTuple
from uuid import UUID

import msgspec
import redis.asyncio as aioredis
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from domain.apikey.decider import ApiKey
from domain.apikey.events import ApiPermission
from domain.organization.plans import RateLimit, limit_of
from domain.role.system import SYSTEM_ROLES, is_system

TTL_S = 300.0  # a safety net: invalidation messages normally evict a changed key at once
MISS_TTL_S = 5.0


class CachedKey(NamedTuple):
    id: UUID
    organization_id: UUID
    state: ApiKey
    permissions: tuple[ApiPermission, ...]
    rate_limit: RateLimit
    organization_limit: RateLimit
    role: str | None = None
    ceiling: tuple[ApiPermission, ...] | None = None  # the role's permissions


def ceiling_of(row: dict[str, Any]) -> tuple[ApiPermission, ...] | None:
    """A key's role's permissions: a system role's, an active custom role's, or none at all
    once its custom role is deleted; None for a key without a role (no ceiling)."""
    role = row.get("role")
    if role is None:
        return None
    if is_system(role):
        return SYSTEM_ROLES[role]
    if row.get("role_status") == "active" and row.get("role_permissions") is not None:
        return msgspec.convert(row["role_permissions"], tuple[ApiPermission, ...])
    return ()


SELECT = (
    "SELECT k.id, k.organization_id, k.environment, k.hashed_key, k.previous_hashed_key,"
    " k.previous_valid_until, k.permissions, k.rate_limit, k.status, k.expires_at,"
    " k.require_signature, k.role, r.permissions AS role_permissions, r.status AS role_status,"
    " coalesce(o.plan, 'free') AS plan, o.rate_limit AS organization_rate_limit"
    " FROM api_keys k LEFT JOIN organizations o ON o.id = k.organization_id"
    " LEFT JOIN roles r ON r.id::text = k.role AND r.organization_id = k.organization_id"
    " WHERE k.id = %s"
)


def cached_from(row: dict[str, Any]) -> CachedKey:
    override = row.get("organization_rate_limit")
    org_limit = limit_of(row["plan"], msgspec.convert(override, RateLimit) if override else None)
    state = ApiKey(status=row["status"], organization_id=row["organization_id"],
                   environment=row["environment"], hashed_key=row["hashed_key"],
                   previous_hashed_key=row["previous_hashed_key"],
                   previous_valid_until=row["previous_valid_until"], expires_at=row["expires_at"],
                   require_signature=row["require_signature"])
    own = msgspec.convert(row["rate_limit"], RateLimit) if row["rate_limit"] else org_limit
    return CachedKey(row["id"], row["organization_id"], state,
                     msgspec.convert(row["permissions"], tuple[ApiPermission, ...]), own,
                     org_limit, row.get("role"), ceiling_of(row))


class KeyCache:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool
        self.entries: dict[UUID, tuple[CachedKey | None, float]] = {}
        self.last_used: dict[UUID, datetime] = {}

    async def get(self, key_id: UUID) -> CachedKey | None:
        found = self.entries.get(key_id)
        now = time.monotonic()
        if found is not None and now - found[1] < (TTL_S if found[0] else MISS_TTL_S):
            return found[0]
        async with self.pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(SELECT, (key_id,))
            row = await cur.fetchone()
        entry = cached_from(row) if row else None
        self.entries[key_id] = (entry, now)
        return entry

    def evict(self, ids: list[UUID]) -> None:
        for key_id in ids:
            self.entries.pop(key_id, None)

    def evict_message(self, data: str) -> None:
        """An invalidation message: comma-separated key ids."""
        self.evict([UUID(i) for i in data.split(",") if i])

    def evict_roles(self, data: str) -> None:
        """A custom role changed: drop the keys held under it."""
        changed = set(data.split(","))
        for key_id, (entry, _at) in list(self.entries.items()):
            if entry is not None and entry.role in changed:
                self.entries.pop(key_id, None)

    def evict_organizations(self, data: str) -> None:
        """An organization changed (its plan, say): drop its keys, whose limits derive from it."""
        changed = {UUID(i) for i in data.split(",") if i}
        for key_id, (entry, _at) in list(self.entries.items()):
            if entry is not None and entry.organization_id in changed:
                self.entries.pop(key_id, None)

    def touch(self, key_id: UUID, at: datetime) -> None:
        self.last_used[key_id] = at

    async def flush_last_used(self, client: aioredis.Redis, hash_name: str,
                              every_s: float = 5.0) -> None:
        """lastUsedAt without an event per request: batched into one Redis hash."""
        while True:
            await asyncio.sleep(every_s)
            batch, self.last_used = self.last_used, {}
            if batch:
                with contextlib.suppress(Exception):
                    await client.hset(hash_name, mapping={
                        str(k): v.isoformat() for k, v in batch.items()})
