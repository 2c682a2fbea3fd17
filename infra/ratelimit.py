"""Hierarchical rate limits: a token bucket (per second, with burst) plus minute, hour and day
windows, for several scopes (API key, user, organization) at once.

One Lua script, one Redis round trip per request, atomic across processes: either every
limit of every scope admits the request and all are charged, or none is. The same algorithm
in Python (``LocalLimiter``) serves when Redis is unreachable and the failure mode is "open".
"""

from __future__ import annotations

import math
import threading
import time
from typing import NamedTuple

import redis.asyncio as aioredis
from redis.exceptions import RedisError

WINDOWS = (("m", 60_000), ("h", 3_600_000), ("d", 86_400_000))


class Limits(NamedTuple):
    """The seed's RateLimit."""

    requests_per_second: float
    burst_limit: int
    requests_per_minute: int
    requests_per_hour: int
    requests_per_day: int


class Scope(NamedTuple):
    key: str  # e.g. "org:<id>", "key:<id>", "operator"
    limits: Limits


class Decision(NamedTuple):
    allowed: bool
    limit: int
    remaining: int
    reset_s: int
    retry_after_s: int


class LimiterUnavailable(Exception):
    """Redis did not answer in time."""


# KEYS: one base key per scope. ARGV: cost, then five limits per scope.
# Returns {allowed, limit, remaining, reset_ms, retry_ms} of the tightest limit.
SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cost = tonumber(ARGV[1])
local windows = {{'m', 60000}, {'h', 3600000}, {'d', 86400000}}
local allowed, retry = 1, 0
local best = {math.huge, 0, 0}
local plan = {}
for i, base in ipairs(KEYS) do
  local o = 1 + (i - 1) * 5
  local rate, burst = tonumber(ARGV[o + 1]), tonumber(ARGV[o + 2])
  local b = redis.call('HMGET', base .. ':b', 'tokens', 'ts')
  local tokens = tonumber(b[1]) or burst
  local ts = tonumber(b[2]) or now
  tokens = math.min(burst, tokens + math.max(0, now - ts) * rate / 1000)
  if tokens < cost then
    allowed = 0
    retry = math.max(retry, math.ceil((cost - tokens) * 1000 / rate))
  end
  local left = tokens - cost
  if left < best[1] then best = {left, burst, math.ceil((burst - left) * 1000 / rate)} end
  table.insert(plan, {base .. ':b', left, now})
  for w, win in ipairs(windows) do
    local limit = tonumber(ARGV[o + 2 + w])
    local id = math.floor(now / win[2])
    local key = base .. ':' .. win[1] .. ':' .. id
    local used = tonumber(redis.call('GET', key) or '0')
    local ends = (id + 1) * win[2] - now
    if used + cost > limit then
      allowed = 0
      retry = math.max(retry, ends)
    end
    if limit - used - cost < best[1] then best = {limit - used - cost, limit, ends} end
    table.insert(plan, {key, ends})
  end
end
if allowed == 1 then
  for _, p in ipairs(plan) do
    if #p == 3 then
      redis.call('HSET', p[1], 'tokens', p[2], 'ts', p[3])
      redis.call('PEXPIRE', p[1], 86400000)
    else
      redis.call('INCRBY', p[1], cost)
      redis.call('PEXPIRE', p[1], p[2] + 1000)
    end
  end
else
  local hour = math.floor(now / 3600000)
  for _, base in ipairs(KEYS) do
    redis.call('HINCRBY', base .. ':limited', hour, 1)
    redis.call('PEXPIRE', base .. ':limited', 8 * 86400000)
  end
end
return {allowed, best[2], math.max(0, math.floor(best[1])), best[3], retry}
"""


def _args(scopes: list[Scope], cost: int) -> list[float | int]:
    args: list[float | int] = [cost]
    for s in scopes:
        lim = s.limits
        args += [lim.requests_per_second, lim.burst_limit, lim.requests_per_minute,
                 lim.requests_per_hour, lim.requests_per_day]
    return args


def _decision(raw: list[int]) -> Decision:
    allowed, limit, remaining, reset_ms, retry_ms = (int(x) for x in raw)
    return Decision(bool(allowed), limit, remaining if allowed else 0,
                    math.ceil(reset_ms / 1000), math.ceil(retry_ms / 1000))


class RedisLimiter:
    def __init__(self, client: aioredis.Redis, prefix: str = "rl") -> None:
        self.client = client
        self.prefix = prefix
        self.script = client.register_script(SCRIPT)

    async def check(self, scopes: list[Scope], cost: int = 1) -> Decision:
        keys = [f"{self.prefix}:{{{s.key}}}" for s in scopes]
        try:
            raw = await self.script(keys=keys, args=_args(scopes, cost))
        except (RedisError, OSError, TimeoutError) as exc:
            raise LimiterUnavailable(str(exc)) from exc
        return _decision(raw)

    async def limited_counts(self, scope: str) -> dict[int, int]:
        """Requests refused per hour (hours since the epoch) for one scope, for analytics."""
        raw = await self.client.hgetall(f"{self.prefix}:{{{scope}}}:limited")
        return {int(k): int(v) for k, v in raw.items()}


class LocalLimiter:
    """The same algorithm in one process, for when Redis is unreachable (fail open)."""

    def __init__(self) -> None:
        self.buckets: dict[str, tuple[float, float]] = {}
        self.windows: dict[str, tuple[int, int]] = {}  # key -> (window id, used)
        self.lock = threading.Lock()

    def check(self, scopes: list[Scope], cost: int = 1, now_ms: float | None = None) -> Decision:
        now = time.time() * 1000 if now_ms is None else now_ms
        with self.lock:
            allowed, retry = True, 0.0
            best = (math.inf, 0, 0.0)  # (left, limit, reset ms) of the tightest limit
            charges: list[tuple[str, int, float]] = []
            for scope in scopes:
                for key, left, limit, reset, wait, wid, after in self._limits(scope, cost, now):
                    if left < 0:
                        allowed, retry = False, max(retry, wait)
                    if left < best[0]:
                        best = (left, limit, reset)
                    charges.append((key, wid, after))
            if allowed:
                for key, wid, after in charges:
                    if wid < 0:
                        self.buckets[key] = (after, now)
                    else:
                        self.windows[key] = (wid, int(after))
            remaining = max(0, math.floor(best[0])) if allowed else 0
            return Decision(allowed, int(best[1]), remaining, math.ceil(best[2] / 1000),
                            math.ceil(retry / 1000))

    def _limits(self, scope: Scope, cost: int, now: float,
                ) -> list[tuple[str, float, int, float, float, int, float]]:
        """Per limit: (key, left after charging, limit, reset ms, wait ms, window id or -1,
        the stored value once charged: tokens for the bucket, used count for a window)."""
        lim = scope.limits
        rate = lim.requests_per_second
        tokens, ts = self.buckets.get(scope.key, (float(lim.burst_limit), now))
        tokens = min(lim.burst_limit, tokens + max(0.0, now - ts) * rate / 1000)
        left = tokens - cost
        out = [(scope.key, left, lim.burst_limit, (lim.burst_limit - left) * 1000 / rate,
                max(0.0, -left) * 1000 / rate, -1, left)]
        limits = (lim.requests_per_minute, lim.requests_per_hour, lim.requests_per_day)
        for (name, size), limit in zip(WINDOWS, limits, strict=True):
            wid = int(now // size)
            key = f"{scope.key}:{name}"
            seen, used = self.windows.get(key, (wid, 0))
            used = used if seen == wid else 0
            ends = (wid + 1) * size - now
            out.append((key, float(limit - used - cost), limit, ends, ends, wid, used + cost))
        return out
