"""Usage metering, led by one API process of the deployment: every USAGE_REFRESH_S the leader
(the holder of an advisory lock, infra/lease.py) measures every organization's month
(ClickHouse for calls, bandwidth, storage and users; PostgreSQL only for the plans), records
crossed thresholds as usage events, rebuilds ``blocked``, the dict the request path looks an
organization up in, and shares it in Redis; every other process reads that dict each tick,
and takes the lead when the leader's session is gone. A request never waits on a
measurement: what it pays is that lookup (api/usage/guard.py); a quota is enforced within a
refresh or two of being reached, the price of not counting every request against ClickHouse.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import NamedTuple
from uuid import UUID

import msgspec
from anyio import to_thread
from psycopg_pool import AsyncConnectionPool
from redis.asyncio import Redis

from commands.runner import Context
from commands.usage import UsageCommands
from domain.envelope import SYSTEM
from domain.organization.plans import METRICS, WARN_AT, Over, Quota, quota_of
from domain.usage.decider import RecordUsage
from infra import clickhouse
from infra.lease import AdvisoryLease
from projections import usage_queries as queries

log = logging.getLogger("chronicle.metering")
WRITES_ONLY = frozenset({"storage", "users"})  # past these, reads still answer


class Block(NamedTuple):
    """Why an organization is refused this month, and until when."""

    metric: str
    used: int
    limit: int
    period: str
    until: datetime  # the month's end
    writes_only: bool  # storage or users: only writes are refused
    policy: Over = "block_429"  # how the refusal answers: 429 until ``until``, or 402
    plan: str = "free"


def used_of(counts: queries.Counts, levels: queries.Levels) -> dict[str, int]:
    return {"apiCalls": counts.api_calls, "bandwidth": counts.bandwidth,
            "storage": levels.storage, "users": levels.users}


def month_end(at: datetime) -> datetime:
    first = at.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return (first + timedelta(days=32)).replace(day=1)


def block_of(used: Mapping[str, int], quota: Quota, period: str, until: datetime, *,
             plan: str = "free") -> Block | None:
    """The refusal a blocking plan's organization gets: calls or bandwidth at the quota refuse
    every request; storage or users beyond it (at it is full, not over) refuse the writes
    that add (api/usage/guard.py); None when nothing is over."""
    if quota.over == "overage":
        return None
    over = [m for m in METRICS if used[m] > quota.of(m)
            or (m not in WRITES_ONLY and used[m] >= quota.of(m))]
    if not over:
        return None
    metric = next((m for m in over if m not in WRITES_ONLY), over[0])
    return Block(metric, used[metric], quota.of(metric), period, until, metric in WRITES_ONLY,
                 quota.over, plan)


class Board:
    """The leader's ``blocked`` in one Redis key for the other processes; it expires after a
    few missed refreshes, so blocks lapse rather than outlive a deployment with no leader."""

    def __init__(self, redis: Redis, key: str, ttl_s: float) -> None:
        self.redis, self.key, self.ttl_ms = redis, key, max(1000, int(ttl_s * 1000))
        self.decoder = msgspec.json.Decoder(dict[UUID, Block])

    async def publish(self, blocked: dict[UUID, Block]) -> None:
        await self.redis.set(self.key, msgspec.json.encode(blocked), px=self.ttl_ms)

    async def read(self) -> dict[UUID, Block]:
        found = await self.redis.get(self.key)
        return {} if found is None else self.decoder.decode(found)


class Meter:
    def __init__(self, pool: AsyncConnectionPool, analytics: clickhouse.Shared,
                 usage: UsageCommands, *, every_s: float,
                 quotas: Mapping[str, Quota] | None = None,
                 lease: AdvisoryLease | None = None, board: Board | None = None) -> None:
        """``quotas``: each plan's (default: the plans' own, domain/organization/plans.py);
        ``lease``: who leads (None: this meter always measures); ``board``: where the leader
        shares ``blocked`` and the others read it."""
        self.pool, self.analytics, self.usage = pool, analytics, usage
        self.every_s = every_s
        self.quotas = quotas
        self.lease, self.board = lease, board
        self.blocked: dict[UUID, Block] = {}
        self.recorded: set[tuple[UUID, str, str, int]] = set()  # already told the decider
        self.kept: dict[UUID, queries.Levels] = {}  # the levels last written to ClickHouse

    def quota(self, plan: str, policy: Over | None = None) -> Quota:
        """The plan's quotas (the meter's own ``quotas`` when given), past them ``policy``, the
        operator's override of the organization's policy, when set."""
        if self.quotas is None:
            return quota_of(plan, policy)
        quota = self.quotas[plan]
        return quota if policy is None else msgspec.structs.replace(quota, over=policy)

    async def follow(self) -> None:
        try:
            while True:
                try:
                    await self.tick()
                except Exception as exc:  # keep the last measurement; the next tick tries again
                    log.warning("could not measure usage: %s", exc)
                await asyncio.sleep(self.every_s)
        finally:
            if self.lease is not None:
                await self.lease.release()

    async def tick(self, now: datetime | None = None) -> None:
        """The leader measures, records and shares; a follower takes the leader's ``blocked``."""
        if self.lease is None or await self.lease.held():
            await self.refresh(now)
            if self.board is not None:
                await self.board.publish(self.blocked)
        elif self.board is not None:
            self.blocked = await self.board.read()

    async def refresh(self, now: datetime | None = None) -> None:
        now = now or datetime.now(UTC)
        period = queries.period_of(now)
        self.recorded = {r for r in self.recorded if r[1] == period}
        counts, levels = await to_thread.run_sync(self.measure, period)
        async with self.pool.connection() as conn:
            # Only an organization that used something can cross a threshold: the others (most
            # of them, on a large platform) cost nothing per tick.
            organizations = await queries.organizations(conn, {*counts, *levels})
        blocked: dict[UUID, Block] = {}
        until = month_end(now)
        for org, organization in organizations.items():
            plan = organization.plan
            quota = self.quota(plan, organization.quota_policy)
            used = used_of(counts.get(org, queries.Counts()), levels.get(org, queries.Levels()))
            await self.record(org, period, used, quota)
            if (block := block_of(used, quota, period, until, plan=plan)) is not None:
                blocked[org] = block
        self.blocked = blocked
        await to_thread.run_sync(lambda: self.keep(period, levels, now))

    def measure(self, period: str) -> tuple[dict[UUID, queries.Counts],
                                            dict[UUID, queries.Levels]]:
        ch = self.analytics.get()
        return queries.counts(ch, period), queries.levels(ch)

    async def record(self, org: UUID, period: str, used: Mapping[str, int], quota: Quota) -> None:
        """Tell the usage decider of each metric past a threshold it was not told of yet."""
        for metric in METRICS:
            limit = quota.of(metric)
            crossed = (used[metric] >= limit) + (used[metric] >= WARN_AT * limit)
            if crossed and (org, period, metric, crossed) not in self.recorded:
                command = RecordUsage(organization_id=org, period=period, metric=metric,
                                      used=used[metric], limit=limit, policy=quota.over)
                await to_thread.run_sync(self._record, command)
                self.recorded.add((org, period, metric, crossed))

    def _record(self, command: RecordUsage) -> None:
        self.usage.record(Context(actor=SYSTEM, request_id=f"metering_{command.period}"),
                          command)

    def keep(self, period: str, levels: dict[UUID, queries.Levels], now: datetime) -> None:
        """Write the levels that changed since the last write (a statement's storage and users)."""
        changed = {org: lv for org, lv in levels.items() if self.kept.get(org) != lv}
        queries.keep_levels(self.analytics.get(), period, changed, now)
        self.kept.update(changed)
