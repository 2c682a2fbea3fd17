"""An in-process cache of API keys for authentication (infra/cache.py), invalidated by the
command path and the projector over Redis, and bounded by a short TTL.

What decides whether a secret authenticates (status, the current and previous hashes, the
grace period, expiry) is folded from the key's own event stream on every reload, never taken
from the api_keys read model: a stalled projection must not keep a revoked key alive, nor
keep a rolled key's new secret out. The read model still supplies what is not about the
secret (permissions, limits, the role's ceiling, the plan); a key it has not reached yet
authenticates from its created event, with the plan and role the other read models know.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime
from typing import Any, NamedTuple
from uuid import UUID

import msgspec
import redis.asyncio as aioredis
from anyio import to_thread
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from domain.apikey import decider as key
from domain.apikey.decider import ApiKey
from domain.apikey.events import ApiKeyCreated, ApiKeyRevoked, ApiKeyRolled
from domain.organization.plans import RateLimit, limit_of
from domain.permissions import ApiPermission
from domain.role.system import SYSTEM_ROLES, is_system
from infra.cache import ReadThrough
from infra.eventstore import EventStore
from infra.invalidation import ids_in

TTL_S = 10.0  # a safety net (CREDENTIAL_CACHE_TTL_S): messages evict a changed key at once
MISS_TTL_S = 5.0
MAX_ENTRIES = 10_000


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


def cached_from(row: dict[str, Any], state: ApiKey) -> CachedKey:
    """``state`` is the key folded from its stream; ``row`` the read model's view of it."""
    override = row.get("organization_rate_limit")
    org_limit = limit_of(row["plan"], msgspec.convert(override, RateLimit) if override else None)
    own = msgspec.convert(row["rate_limit"], RateLimit) if row["rate_limit"] else org_limit
    return CachedKey(row["id"], row["organization_id"], state,
                     msgspec.convert(row["permissions"], tuple[ApiPermission, ...]), own,
                     org_limit, row.get("role"), ceiling_of(row))


# A key the api_keys read model has not reached yet: what its ApiKeyCreated event cannot say.
SELECT_UNPROJECTED = (
    "SELECT coalesce((SELECT plan FROM organizations WHERE id = %(org)s), 'free') AS plan,"
    " (SELECT rate_limit FROM organizations WHERE id = %(org)s) AS organization_rate_limit,"
    " r.permissions AS role_permissions, r.status AS role_status"
    " FROM (SELECT 1) AS one LEFT JOIN roles r"
    " ON r.id::text = %(role)s AND r.organization_id = %(org)s"
)


def folded(store: EventStore, key_id: UUID) -> tuple[ApiKey, ApiKeyCreated | None]:
    """The key as its events say it is (a key's stream is a handful of events), and the
    event that created it."""
    state, created = key.INITIAL, None
    for envelope in store.load(key_id):
        if isinstance(envelope.event, ApiKeyCreated | ApiKeyRolled | ApiKeyRevoked):
            state = key.evolve(state, envelope.event)
            created = envelope.event if isinstance(envelope.event, ApiKeyCreated) else created
    return state, created


def unprojected_row(key_id: UUID, created: ApiKeyCreated) -> dict[str, Any]:
    return {"id": key_id, "organization_id": created.organization_id, "role": created.role,
            "permissions": msgspec.to_builtins(created.permissions),
            "rate_limit": msgspec.to_builtins(created.rate_limit) if created.rate_limit else None}


class KeyCache:
    def __init__(self, pool: AsyncConnectionPool, store: EventStore,
                 ttl_s: float = TTL_S, max_entries: int = MAX_ENTRIES) -> None:
        self.pool, self.store = pool, store
        self.keys: ReadThrough[UUID, CachedKey] = ReadThrough(
            self._load, ttl_s=ttl_s, miss_ttl_s=MISS_TTL_S, max_entries=max_entries)
        self.last_used: dict[UUID, datetime] = {}

    async def get(self, key_id: UUID) -> CachedKey | None:
        return await self.keys.get(key_id)

    async def _load(self, key_id: UUID) -> CachedKey | None:
        state, created = await to_thread.run_sync(folded, self.store, key_id)
        if created is None:
            return None
        return cached_from(await self._row(key_id, created), state)

    async def _row(self, key_id: UUID, created: ApiKeyCreated) -> dict[str, Any]:
        """The read model's row; for a key it has not reached yet (a stalled projector), the
        created event's fields with the plan and role the other read models know."""
        async with self.pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(SELECT, (key_id,))
            row = await cur.fetchone()
            if row is not None:
                return row
            row = unprojected_row(key_id, created)
            await cur.execute(SELECT_UNPROJECTED,
                              {"org": created.organization_id, "role": created.role})
            return {**row, **(await cur.fetchone() or {})}

    def evict(self, ids: list[UUID]) -> None:
        self.keys.evict(ids)

    def evict_message(self, data: str) -> None:
        """An invalidation message: comma-separated key ids."""
        self.keys.evict(ids_in(data))

    def evict_roles(self, data: str) -> None:
        """A custom role changed: drop the keys held under it."""
        changed = set(filter(None, data.split(",")))
        self.keys.evict_where(lambda cached: cached.role in changed)

    def evict_organizations(self, data: str) -> None:
        """An organization changed (its plan, say): drop its keys, whose limits derive from it."""
        changed = set(ids_in(data))
        self.keys.evict_where(lambda cached: cached.organization_id in changed)

    def reset(self) -> None:
        self.keys.clear()

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
