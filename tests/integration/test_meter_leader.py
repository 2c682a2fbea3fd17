"""One meter per deployment: of two meters (two API processes) one holds the PostgreSQL lease,
measures, records and shares its blocks in Redis, while the other only reads them; when the
leader's session dies, the other takes the lead at its next tick and the old leader follows."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import msgspec
import psycopg
from litestar.testing import TestClient
from psycopg_pool import AsyncConnectionPool
from redis import asyncio as aioredis

from commands.usage import UsageCommands
from domain.organization.plans import PLAN_QUOTAS
from domain.usage.events import LimitReached
from infra import clickhouse
from infra.eventstore import EventStore
from infra.lease import AdvisoryLease
from infra.metering import Board, Meter
from infra.settings import Settings
from tests.integration.test_api_keys import new_org
from tests.integration.test_usage import log_requests, usage_events

QUOTAS = {**PLAN_QUOTAS, "free": msgspec.structs.replace(PLAN_QUOTAS["free"], api_calls=5)}


def meter(settings: Settings, store: EventStore, name: str, redis: aioredis.Redis,
          pool: AsyncConnectionPool, lease: AdvisoryLease) -> Meter:
    return Meter(pool, clickhouse.Shared(settings), UsageCommands(store), every_s=3600.0,
                 quotas=QUOTAS, lease=lease,
                 board=Board(redis, f"{settings.redis_key_prefix}{name}.blocked", 60))


def terminate(settings: Settings, lease: AdvisoryLease) -> None:
    """What a dead leader's process leaves behind: its session gone, and the lock with it."""
    assert lease.conn is not None
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(%s)", (lease.conn.info.backend_pid,))


def blocked_org(client: TestClient[Any], settings: Settings) -> uuid.UUID:
    org = new_org(client, plan="free")["id"]
    log_requests(settings, org, 5, datetime.now(UTC))
    return uuid.UUID(org)


def test_one_meter_leads_and_the_other_takes_over_when_the_leader_dies(
        client: TestClient[Any], settings: Settings, store: EventStore) -> None:
    name = f"test-meter-{uuid.uuid4().hex}"  # not the lease the run's API processes take
    first_org = blocked_org(client, settings)

    async def scenario() -> None:
        redis = aioredis.Redis.from_url(settings.redis_url)
        pools = [AsyncConnectionPool(settings.database_url, min_size=1, max_size=2, open=False,
                                     kwargs={"autocommit": True}) for _ in range(2)]
        for pool in pools:
            await pool.open()
        leases = [AdvisoryLease(settings.database_url, name) for _ in pools]
        leader, other = (meter(settings, store, name, redis, pool, lease)
                         for pool, lease in zip(pools, leases, strict=True))
        try:
            await leader.tick()
            await other.tick()
            assert leases[0].leading
            assert not leases[1].leading
            assert other.blocked[first_org] == leader.blocked[first_org]
            assert (other.recorded, other.kept) == (set(), {})  # it measured nothing

            terminate(settings, leases[0])
            second_org = blocked_org(client, settings)
            await other.tick()
            assert leases[1].leading
            assert set(other.blocked) >= {first_org, second_org}
            assert [type(e) for e in usage_events(store, str(second_org))][-1] is LimitReached
            await leader.tick()  # the old leader finds its session gone, and follows
            assert not leases[0].leading
            assert second_org in leader.blocked
        finally:
            for lease in leases:
                await lease.release()
            for pool in pools:
                await pool.close()
            await redis.aclose()

    asyncio.run(scenario())
