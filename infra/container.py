"""The composition root: builds every adapter once from the settings; nothing connects at import."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from uuid import UUID

import redis.asyncio as aioredis
from anyio import to_thread
from confluent_kafka.admin import AdminClient
from psycopg_pool import AsyncConnectionPool
from redis.exceptions import RedisError

from commands.alert_rules import AlertRuleCommands
from commands.apikeys import ApiKeyCommands
from commands.bulk import BulkCommands
from commands.denials import DenialLog
from commands.oauthclients import OAuthClientCommands
from commands.organizations import OrganizationCommands
from commands.resource_types import ResourceTypeCommands
from commands.resources import ResourceCommands
from commands.roles import RoleCommands
from commands.transactions import TransactionCommands
from commands.usage import UsageCommands
from commands.users import UserCommands
from commands.webhook_endpoints import WebhookEndpointCommands
from infra import clickhouse
from infra.credentials import Credentials
from infra.eventstore import EventStore, datastore_from_url
from infra.invalidation import Feed
from infra.jsonschemas import JsonSchemas
from infra.keycache import KeyCache
from infra.lease import AdvisoryLease
from infra.metering import Board, Meter
from infra.orgcache import OrgCache
from infra.ratelimit import LocalLimiter, RedisLimiter
from infra.replay import SpentRefreshTokens, UsedSignatures
from infra.requestlog import RequestLog
from infra.sessions import SessionService
from infra.settings import DEV_API_SECRET, Settings
from infra.signing import CHANNEL as SIGNING_CHANNEL
from infra.signing import DEV_ENCRYPTION_KEY, KeyRing
from infra.streamhub import Hub
from infra.streamquota import StreamQuota
from infra.tokens import DENY_CHANNEL, LEEWAY_S, DenySet, TokenService
from infra.webhooks.wiring import webhook_commands
from projections.api_keys import CHANNEL as KEYS_CHANNEL
from projections.organizations import CHANNEL as ORGS_CHANNEL
from projections.roles import CHANNEL as ROLES_CHANNEL

log = logging.getLogger("chronicle.container")
QUOTA_MIN_TTL_S = 30.0  # how long a dead process's live streams hold their places, at least


def ring_for(settings: Settings) -> KeyRing:
    """Retired keys verify for as long as the longest access token they signed can live."""
    return KeyRing(settings.database_url, settings.encryption_key or DEV_ENCRYPTION_KEY,
                   timedelta(seconds=settings.jwt_access_ttl_s + LEEWAY_S),
                   settings.jwt_key_rotation_days)


def meter(settings: Settings, pool: AsyncConnectionPool, analytics: clickhouse.Shared,
          store: EventStore, redis: aioredis.Redis) -> Meter:
    """The process's meter: it measures while it holds the deployment's lease, and otherwise
    reads what the leader shares (blocks lapse after three refreshes without a leader)."""
    return Meter(pool, analytics, UsageCommands(store, retries=settings.command_retries),
                 every_s=settings.usage_refresh_s,
                 lease=AdvisoryLease(settings.database_url, "chronicle.usage-meter"),
                 board=Board(redis, f"{settings.redis_key_prefix}usage.blocked",
                             3 * settings.usage_refresh_s))


@dataclass
class Container:
    settings: Settings
    store: EventStore
    pool: AsyncConnectionPool
    redis: aioredis.Redis
    kafka_admin: AdminClient
    organizations: OrganizationCommands
    limiter: RedisLimiter
    api_keys: ApiKeyCommands
    key_cache: KeyCache
    org_cache: OrgCache
    local_limiter: LocalLimiter
    ring: KeyRing
    tokens: TokenService
    deny: DenySet
    sessions: SessionService
    oauth_clients: OAuthClientCommands
    denials: DenialLog
    signatures: UsedSignatures
    users: UserCommands
    roles: RoleCommands
    resource_types: ResourceTypeCommands
    resources: ResourceCommands
    alert_rules: AlertRuleCommands
    transactions: TransactionCommands
    bulk: BulkCommands
    hub: Hub  # the live event streams' fan-out (infra/streamhub.py)
    webhooks: WebhookEndpointCommands
    request_log: RequestLog | None = None  # None: ENABLE_REQUEST_LOG=false
    analytics: clickhouse.Shared | None = None  # the metrics' and usage's ClickHouse client
    meter: Meter | None = None  # None: ENABLE_USAGE_LIMITS=false
    feed: Feed = field(default_factory=Feed)
    ring_stale: asyncio.Event = field(default_factory=asyncio.Event)
    started: float = field(default_factory=time.monotonic)

    @classmethod
    def build(cls, settings: Settings) -> Container:
        store = EventStore(datastore_from_url(
            settings.database_url, pool_size=settings.db_pool_min,
            max_overflow=settings.db_pool_max - settings.db_pool_min),
            max_event_bytes=settings.max_event_bytes)
        # DB_STATEMENT_TIMEOUT bounds every read and write on this pool: a locked or stuck
        # table answers 503 (QueryCanceled is an OperationalError) instead of holding requests.
        pool = AsyncConnectionPool(
            settings.database_url, min_size=settings.db_pool_min, max_size=settings.db_pool_max,
            open=False, kwargs={"autocommit": True,
                                "options": f"-c statement_timeout={settings.db_statement_timeout}"})
        timeout = settings.rate_limit_redis_timeout_ms / 1000
        limiter_redis = aioredis.Redis.from_url(
            settings.redis_url, socket_timeout=timeout, socket_connect_timeout=timeout,
            retry_on_timeout=False)
        redis = aioredis.Redis.from_url(settings.redis_url, socket_timeout=2,
                                        socket_connect_timeout=2)
        ring = ring_for(settings)
        prefix = settings.redis_key_prefix
        tokens = TokenService(ring, settings.jwt_issuer, settings.jwt_audience,
                              settings.jwt_access_ttl_s)
        schemas = JsonSchemas()  # one compiled-validator cache for types and their resources
        deny = DenySet(pool, redis, f"{prefix}{DENY_CHANNEL}",
                       reload_s=settings.credential_cache_ttl_s)
        analytics = clickhouse.Shared(settings)
        return cls(
            settings=settings, store=store, pool=pool, ring=ring, tokens=tokens, deny=deny,
            oauth_clients=OAuthClientCommands(store, settings.api_secret or DEV_API_SECRET,
                                              retries=settings.command_retries),
            sessions=SessionService(redis, tokens, deny, settings.api_secret or DEV_API_SECRET,
                                    prefix, settings.redis_session_ttl,
                                    settings.jwt_refresh_ttl_s, SpentRefreshTokens(pool)),
            limiter=RedisLimiter(limiter_redis, prefix=f"{settings.redis_key_prefix}rl"),
            local_limiter=LocalLimiter(), key_cache=KeyCache(
                pool, store, settings.credential_cache_ttl_s), org_cache=OrgCache(pool),
            api_keys=ApiKeyCommands(store, settings.api_secret or DEV_API_SECRET,
                                    retries=settings.command_retries),
            redis=redis,
            kafka_admin=AdminClient({"bootstrap.servers": settings.kafka_bootstrap_servers,
                                     "socket.timeout.ms": 2000}),
            organizations=OrganizationCommands(store, retries=settings.command_retries),
            denials=DenialLog(store), signatures=UsedSignatures(pool),
            users=UserCommands(store, Credentials(settings.api_secret or DEV_API_SECRET,
                                                  settings.encryption_key or DEV_ENCRYPTION_KEY),
                               retries=settings.command_retries),
            roles=RoleCommands(store, retries=settings.command_retries),
            resource_types=ResourceTypeCommands(store, schemas,
                                                retries=settings.command_retries),
            resources=ResourceCommands(store, schemas, retries=settings.command_retries),
            alert_rules=AlertRuleCommands(store, retries=settings.command_retries),
            transactions=TransactionCommands(store, schemas, retries=settings.command_retries),
            bulk=BulkCommands(store, schemas, retries=settings.command_retries),
            hub=Hub(pool, settings, StreamQuota(
                redis, prefix, settings.stream_max_per_org,
                ttl_s=max(3 * settings.stream_heartbeat_s, QUOTA_MIN_TTL_S))),
            webhooks=webhook_commands(settings, store),
            request_log=RequestLog(settings) if settings.enable_request_log else None,
            analytics=analytics,
            meter=meter(settings, pool, analytics, store, redis)
            if settings.enable_usage_limits else None,
        )

    def start_background(self) -> list[asyncio.Task[None]]:
        """The API process's own loops: cache invalidation (keys, organizations' policies and
        the preflight origins), the live streams' hub (on the same feed), lastUsedAt flushing
        and the request log's sending."""
        prefix = self.settings.redis_key_prefix
        keys, orgs = self.key_cache, self.org_cache
        self.feed.on(f"{prefix}{KEYS_CHANNEL}", keys.evict_message, keys.reset)
        self.feed.on(f"{prefix}{ORGS_CHANNEL}", keys.evict_organizations, keys.reset)
        self.feed.on(f"{prefix}{ROLES_CHANNEL}", keys.evict_roles, keys.reset)
        self.feed.on(f"{prefix}{ORGS_CHANNEL}", orgs.evict_message, orgs.reset)
        self.feed.on(self.deny.channel, self.deny.on_message, self.deny.reset)
        self.feed.on(f"{prefix}{SIGNING_CHANNEL}", lambda _data: self.ring_stale.set(),
                     self.ring_stale.set)
        self.feed.on(self.hub.channel, self.hub.on_message, self.hub.on_reset)
        # A subscriber waits for messages indefinitely: no socket timeout, but health checks.
        subscriber = aioredis.Redis.from_url(self.settings.redis_url, health_check_interval=15,
                                             socket_connect_timeout=2)
        tasks = [] if self.request_log is None else [asyncio.create_task(self.request_log.follow())]
        if self.meter is not None:
            tasks.append(asyncio.create_task(self.meter.follow()))
        return [
            *tasks,
            asyncio.create_task(self.feed.follow(subscriber)),
            asyncio.create_task(self.hub.run()),
            asyncio.create_task(self.hub.heartbeats()),
            asyncio.create_task(self.record_denials()),
            asyncio.create_task(orgs.follow_origins()),
            asyncio.create_task(self.deny.follow()),
            asyncio.create_task(self.prune_signatures()),
            asyncio.create_task(self.follow_ring()),
            asyncio.create_task(self.key_cache.flush_last_used(
                self.redis, f"{prefix}apikeys.last_used")),
        ]

    async def key_changed(self, key_id: UUID) -> None:
        """Right after a key's roll or revocation commits: evict it here and tell every other
        API process, without waiting for the projector (which announces it again later)."""
        self.key_cache.evict([key_id])
        try:
            await self.redis.publish(f"{self.settings.redis_key_prefix}{KEYS_CHANNEL}",
                                     str(key_id))
        except RedisError as exc:  # committed already; the others' TTL bounds their cache
            log.warning("could not announce the change of API key %s: %s", key_id, exc)

    async def record_denials(self, every_s: float = 0.25) -> None:
        """Append the queued access.Denied events, one transaction per tick."""
        try:
            while True:
                await asyncio.sleep(every_s)
                await self.flush_denials()
        finally:
            # The last word on shutdown: a refused batch gets a few more tries, within the
            # app's shutdown grace, rather than dying with the process.
            for _ in range(3):
                if await asyncio.shield(self.flush_denials()):
                    break
                await asyncio.sleep(0.2)

    async def flush_denials(self) -> bool:
        """One batch appended; a refused one is queued again (True when nothing is left)."""
        batch = self.denials.take()
        refused = await to_thread.run_sync(self.denials.append, batch) if batch else []
        if refused:
            self.denials.requeue(refused)
        return not refused

    async def open(self) -> None:
        await self.pool.open(wait=False)
        await self.refresh_ring()
        # Before the first request: a process that just started knows every revocation.
        await self.deny.load()

    async def prune_signatures(self, every_s: float = 60.0) -> None:
        while True:
            await asyncio.sleep(every_s)
            try:
                await self.signatures.prune()
            except Exception as exc:  # the next tick tries again; rows only cost space
                log.warning("could not prune used signatures: %s", exc)

    async def refresh_ring(self) -> None:
        """Reload the signing keys (rotating when due) and tell the other processes if a key
        was made."""
        now = datetime.now(UTC)
        if await to_thread.run_sync(lambda: self.ring.refresh(now)):
            await self.redis.publish(f"{self.settings.redis_key_prefix}{SIGNING_CHANNEL}", "rotated")

    async def follow_ring(self, every_s: float = 60.0) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.ring_stale.wait(), every_s)
            self.ring_stale.clear()
            try:
                await self.refresh_ring()
            except Exception as exc:  # keep the ring we have; the next tick tries again
                log.warning("could not refresh the signing keys: %s", exc)

    async def close(self) -> None:
        await self.pool.close()
        await self.redis.aclose()
        await self.limiter.client.aclose()
        if self.analytics is not None:
            await to_thread.run_sync(self.analytics.close)
        self.store.close()
