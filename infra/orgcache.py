"""An in-process cache of each organization: its read-model row (what GET
/v1/organizations/{id} answers) and the access policy derived from it: status, rate limits (the
operator's override, else the plan's) and the seed's security settings (ipWhitelist,
requireHttps, allowedOrigins, sessionTimeout).

Filled from the organizations read model on first use (infra/cache.py), evicted when the
organizations projector announces a change (infra/invalidation.py), with a TTL as a safety net — so
enforcing an organization's settings, or reading the organization, costs no database round
trip per request. The row carries its ``position``, so a reader asking for ``min_position``
can tell whether the cached row is new enough.
"""

from __future__ import annotations

import asyncio
import ipaddress
from typing import Any, NamedTuple
from uuid import UUID

import msgspec
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from domain.organization.events import OrganizationSettings
from domain.organization.plans import RateLimit, limit_of
from infra import tracing
from infra.cache import ReadThrough
from infra.invalidation import ids_in
from infra.settings import IPNetwork
from projections import organization_queries as queries

TTL_S = 300.0
MISS_TTL_S = 5.0
MAX_ENTRIES = 10_000
ORIGINS_REFRESH_S = 60.0
# Changes arriving together make one reload: the query reads every organization, and under a
# burst of creates it ran once per create, a cost that grew with the number of organizations.
ORIGINS_COALESCE_S = 0.5
# Every live organization's origins; a change reads only the organizations it names.
ORIGINS_OF = ("SELECT id, lower(rtrim(o, '/')) FROM organizations,"
              " jsonb_array_elements_text(settings->'security'->'allowedOrigins') AS o"
              " WHERE status = 'active'")


class OrgPolicy(NamedTuple):
    id: UUID
    status: str
    plan: str
    limit: RateLimit
    networks: tuple[IPNetwork, ...]
    require_https: bool
    allowed_origins: frozenset[str]
    session_timeout_s: int
    row: dict[str, Any]  # the organizations read model's row, as queries.GET reads it


def policy_from(row: dict[str, Any]) -> OrgPolicy:
    settings = msgspec.convert(row["settings"], OrganizationSettings)
    return OrgPolicy(
        id=row["id"], status=row["status"], plan=row["plan"],
        limit=limit_of(row["plan"], msgspec.convert(row["rate_limit"], RateLimit)
                       if row.get("rate_limit") else None),
        networks=tuple(ipaddress.ip_network(c, strict=False) for c in settings.ip_whitelist),
        require_https=settings.security.require_https,
        allowed_origins=frozenset(o.lower().rstrip("/") for o in settings.security.allowed_origins),
        session_timeout_s=settings.security.session_timeout * 60, row=row)


class OrgCache:
    def __init__(self, pool: AsyncConnectionPool, max_entries: int = MAX_ENTRIES) -> None:
        self.pool = pool
        self.policies: ReadThrough[UUID, OrgPolicy] = ReadThrough(
            self._load, ttl_s=TTL_S, miss_ttl_s=MISS_TTL_S, max_entries=max_entries)
        # Every live organization's allowedOrigins: what a preflight (no credentials) is
        # checked against. The authenticated response is then checked against the caller's own.
        self.any_origins: frozenset[str] = frozenset()
        self.origins_of: dict[UUID, frozenset[str]] = {}
        self.changed: set[UUID] | None = None  # None: not known, so read them all
        self.origins_stale = asyncio.Event()

    async def get(self, organization_id: UUID) -> OrgPolicy | None:
        return await self.policies.get(organization_id)

    async def at_least(self, organization_id: UUID, position: int) -> OrgPolicy | None:
        """The organization as of ``position`` or later: the cached entry when it is new enough,
        else one reload (the caller has waited for the projection to reach ``position``), which
        the cache then keeps, so a later read without ``min_position`` never goes back in time."""
        found = await self.policies.get(organization_id)
        if found is not None and found.row["position"] >= position:
            return found
        self.policies.evict([organization_id])
        return await self.policies.get(organization_id)

    async def _load(self, organization_id: UUID) -> OrgPolicy | None:
        with tracing.db("SELECT", "organizations"):
            async with self.pool.connection() as conn:
                cur = conn.cursor(row_factory=dict_row)
                await cur.execute(queries.GET, (organization_id,))
                row = await cur.fetchone()
        return policy_from(row) if row else None

    def evict_message(self, data: str) -> None:
        ids = ids_in(data)
        self.policies.evict(ids)
        if self.changed is not None:
            self.changed.update(ids)
        self.origins_stale.set()

    def reset(self) -> None:
        self.policies.clear()
        self.changed = None
        self.origins_stale.set()

    async def load_origins(self, ids: list[UUID] | None = None) -> None:
        """Read the origins of ``ids`` (None: of every organization) and recompute the union.
        Reading every organization on each change cost a scan per burst of creates."""
        async with self.pool.connection() as conn:
            cur = await (conn.execute(ORIGINS_OF) if ids is None else
                         conn.execute(ORIGINS_OF + " AND id = ANY(%s)", (ids,)))
            found: dict[UUID, set[str]] = {}
            for org, origin in await cur.fetchall():
                found.setdefault(org, set()).add(origin)
        if ids is None:
            self.origins_of = {}
        for org in ids or ():
            self.origins_of.pop(org, None)
        self.origins_of.update((org, frozenset(o)) for org, o in found.items())
        self.any_origins = frozenset().union(*self.origins_of.values())

    async def follow_origins(self, every_s: float = ORIGINS_REFRESH_S,
                             coalesce_s: float = ORIGINS_COALESCE_S) -> None:
        """Keep ``any_origins`` current: within ``coalesce_s`` of a change (the organizations
        changed in that interval read together), and all of them every ``every_s``."""
        while True:
            everything = False
            try:
                await asyncio.wait_for(self.origins_stale.wait(), every_s)
                await asyncio.sleep(coalesce_s)
            except TimeoutError:
                everything = True
            self.origins_stale.clear()
            changed, self.changed = self.changed, set()
            try:
                await self.load_origins(None if everything or changed is None else list(changed))
            except Exception:  # what changed is not known to be read: all of them next time
                self.changed = None
