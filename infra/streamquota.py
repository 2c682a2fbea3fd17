"""The per-organization limit of live streams across every API process, in Redis.

Each open stream is a member of its organization's sorted set, scored by when it expires; a
process refreshes its members' scores on every heartbeat tick, and removes a member when its
stream ends, so a process that died gives its places back within ``ttl_s``. A claim removes
the expired members, counts, and adds the new one in one script. When Redis does not answer,
the claim is not refused: each process's own count still bounds it (infra/streamhub.py).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from uuid import UUID

import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger("chronicle.streams")

CLAIMS_AT_ONCE = 8
CLAIM = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""


class StreamQuota:
    def __init__(self, client: aioredis.Redis, prefix: str, per_org: int, ttl_s: float) -> None:
        self.client, self.prefix, self.per_org, self.ttl_s = client, prefix, per_org, ttl_s
        self.claim_script = client.register_script(CLAIM)
        # A burst of streams opening claims a few places at a time: each claim in flight
        # holds a connection of the Redis pool, which keeps every connection it ever opened.
        self.claiming = asyncio.Semaphore(CLAIMS_AT_ONCE)
        self.releasing: list[tuple[UUID, str]] = []  # places to give back, in one pipeline
        self.flushing: asyncio.Future[None] | None = None  # held: the loop keeps weak references

    def key(self, organization_id: UUID) -> str:
        return f"{self.prefix}streams:{organization_id}"

    async def claim(self, organization_id: UUID, member: str) -> bool:
        """Whether the organization has a place left for ``member`` (True if Redis is away)."""
        try:
            async with self.claiming:
                now = time.time()
                granted = await self.claim_script(
                    keys=[self.key(organization_id)],
                    args=[now, now + self.ttl_s, self.per_org, member, int(self.ttl_s) + 1])
        except RedisError as exc:
            log.warning("live streams: the organization's limit is per process for now: %s", exc)
            return True
        return bool(granted)

    def release(self, organization_id: UUID, member: str) -> None:
        """Give a place back, batched: a thousand streams ending at once (a restarted proxy)
        are one pipeline, not a thousand commands each wanting a connection of the pool
        ("Too many connections": the places then waited ``ttl_s`` to expire)."""
        self.releasing.append((organization_id, member))
        if self.flushing is None or self.flushing.done():
            self.flushing = asyncio.ensure_future(self._flush())

    async def _flush(self) -> None:
        while self.releasing:
            batch, self.releasing = self.releasing, []
            try:
                async with self.client.pipeline(transaction=False) as pipe:
                    for organization_id, member in batch:
                        pipe.zrem(self.key(organization_id), member)
                    await pipe.execute()
            except RedisError as exc:  # they expire within ttl_s anyway
                log.warning("live streams: could not give %d places back: %s", len(batch), exc)

    async def refresh(self, members: Iterable[tuple[UUID, str]]) -> None:
        """Extend the open streams' places (the heartbeat tick)."""
        expiry = time.time() + self.ttl_s
        try:
            async with self.client.pipeline(transaction=False) as pipe:
                for organization_id, member in members:
                    pipe.zadd(self.key(organization_id), {member: expiry})
                await pipe.execute()
        except RedisError as exc:
            log.warning("live streams: could not refresh the places: %s", exc)
