"""Hierarchical rate limits: a token bucket (per second, with burst) plus minute, hour and day
windows, for several scopes (API key, user, organization) at once.

One Lua script, atomic across processes: either every limit of every scope admits a request
and all are charged, or none is. Concurrent requests of a process share one round trip. The same algorithm
in Python (``LocalLimiter``) serves when Redis is unreachable and the failure mode is "open".
"""

from __future__ import annotations

import asyncio
import functools
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


# One call checks a batch of requests, in order. KEYS: the base key of every scope of every
# request. ARGV: the number of requests, then per request its cost and number of scopes, then
# per scope its five limits in one string (fewer arguments to encode and parse). Each scope
# is one hash (bucket tokens and time, and each window's id and count), read once per batch
# and written once at its end: under load most requests of a batch share their key's and
# organization's scopes, and each HMGET/HSET/PEXPIRE per request was most of Redis's CPU.
# Returns, flat, five numbers per request: allowed, limit, remaining, reset_ms, retry_ms of
# its tightest limit.
SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local windows = {{'m', 60000}, {'h', 3600000}, {'d', 86400000}}
local states, dirty = {}, {}
local out = {}
local a, k = 2, 1
for r = 1, tonumber(ARGV[1]) do
  local cost, n = tonumber(ARGV[a]), tonumber(ARGV[a + 1])
  a = a + 2
  local allowed, retry = 1, 0
  local best = {math.huge, 0, 0}
  local plan = {}
  for s = 0, n - 1 do
    local base = KEYS[k + s]
    local lim = {}
    for v in string.gmatch(ARGV[a + s], '%S+') do table.insert(lim, tonumber(v)) end
    local rate, burst = lim[1], lim[2]
    local h = states[base]
    if h == nil then
      h = redis.call('HMGET', base, 'tokens', 'ts', 'm', 'mu', 'h', 'hu', 'd', 'du')
      for i = 1, 8 do h[i] = tonumber(h[i]) end
      states[base] = h
    end
    local tokens = h[1] or burst
    local ts = h[2] or now
    tokens = math.min(burst, tokens + math.max(0, now - ts) * rate / 1000)
    if tokens < cost then
      allowed = 0
      retry = math.max(retry, math.ceil((cost - tokens) * 1000 / rate))
    end
    local left = tokens - cost
    if left < best[1] then best = {left, burst, math.ceil((burst - left) * 1000 / rate)} end
    local after = {left, now}
    for w, win in ipairs(windows) do
      local limit = lim[2 + w]
      local id = math.floor(now / win[2])
      local used = 0
      if h[1 + 2 * w] == id then used = h[2 + 2 * w] or 0 end
      local ends = (id + 1) * win[2] - now
      if used + cost > limit then
        allowed = 0
        retry = math.max(retry, ends)
      end
      if limit - used - cost < best[1] then best = {limit - used - cost, limit, ends} end
      after[1 + 2 * w] = id
      after[2 + 2 * w] = used + cost
    end
    table.insert(plan, {base, after})
  end
  if allowed == 1 then
    for _, p in ipairs(plan) do
      states[p[1]] = p[2]
      dirty[p[1]] = true
    end
  else
    local hour = math.floor(now / 3600000)
    for s = 0, n - 1 do
      local limited = KEYS[k + s] .. ':limited'
      redis.call('HINCRBY', limited, hour, 1)
      redis.call('PEXPIRE', limited, 8 * 86400000)
    end
  end
  for _, v in ipairs({allowed, best[2], math.max(0, math.floor(best[1])), best[3], retry}) do
    table.insert(out, v)
  end
  a = a + n
  k = k + n
end
for base, _ in pairs(dirty) do
  local h = states[base]
  redis.call('HSET', base, 'tokens', h[1], 'ts', h[2], 'm', h[3], 'mu', h[4],
             'h', h[5], 'hu', h[6], 'd', h[7], 'du', h[8])
  redis.call('PEXPIRE', base, 86400000 + 1000)
end
return out
"""


@functools.lru_cache(maxsize=4096)
def _spec(limits: Limits) -> str:
    """A scope's limits as the script reads them (few distinct ones: cached)."""
    return " ".join(repr(v) for v in limits)


def _decision(raw: list[int]) -> Decision:
    allowed, limit, remaining, reset_ms, retry_ms = (int(x) for x in raw)
    return Decision(bool(allowed), limit, remaining if allowed else 0,
                    math.ceil(reset_ms / 1000), math.ceil(retry_ms / 1000))


Pending = tuple[list[Scope], int, "asyncio.Future[Decision]"]


class RedisLimiter:
    """Checks made in the same turn of the event loop go to Redis as one script call.

    Each request is still decided on its own, atomically over all its scopes (the script
    runs as one unit and takes the requests in order); under load the Redis round trip and
    the client's per-call cost are shared by the batch instead of paid by every request.
    """

    def __init__(self, client: aioredis.Redis, prefix: str = "rl", max_batch: int = 64) -> None:
        self.client = client
        self.prefix = prefix
        self.script = client.register_script(SCRIPT)
        self.max_batch = max_batch
        self.pending: list[Pending] = []

    async def check(self, scopes: list[Scope], cost: int = 1) -> Decision:
        future: asyncio.Future[Decision] = asyncio.get_running_loop().create_future()
        self.pending.append((scopes, cost, future))
        if len(self.pending) == 1:
            asyncio.get_running_loop().call_soon(self._flush)
        return await future

    def _flush(self) -> None:
        while self.pending:
            batch, self.pending = self.pending[:self.max_batch], self.pending[self.max_batch:]
            task = asyncio.ensure_future(self._run(batch))
            task.add_done_callback(_drop_result)

    async def _run(self, batch: list[Pending]) -> None:
        keys: list[str] = []
        args: list[str | int] = [len(batch)]
        for scopes, cost, _future in batch:
            args += [cost, len(scopes)]
            for scope in scopes:
                keys.append(f"{self.prefix}:{{{scope.key}}}")
                args.append(_spec(scope.limits))
        try:
            raw = await self.script(keys=keys, args=args)
        except (RedisError, OSError, TimeoutError) as exc:
            for _scopes, _cost, future in batch:
                if not future.done():
                    future.set_exception(LimiterUnavailable(str(exc)))
            return
        for i, (_scopes, _cost, future) in enumerate(batch):
            if not future.done():  # its request may have been cancelled meanwhile
                future.set_result(_decision(raw[i * 5:i * 5 + 5]))

    async def limited_counts(self, scope: str) -> dict[int, int]:
        """Requests refused per hour (hours since the epoch) for one scope, for analytics."""
        raw = await self.client.hgetall(f"{self.prefix}:{{{scope}}}:limited")
        return {int(k): int(v) for k, v in raw.items()}


def _drop_result(task: asyncio.Task[None]) -> None:
    if not task.cancelled():
        task.exception()  # retrieved: every failure already reached the requests' futures


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
