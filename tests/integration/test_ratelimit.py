"""Rate limits on the real Redis: atomic under concurrency, across processes, and over HTTP."""

from __future__ import annotations

import asyncio
import multiprocessing
import time
import uuid
from typing import Any

import msgspec
import pytest
import redis.asyncio as aioredis
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from litestar.testing import TestClient

from api.app import create_app
from infra.ratelimit import Limits, RedisLimiter, Scope
from infra.settings import Settings
from tests.conftest import ADMIN_TOKEN, Workers
from tests.integration.conftest import HTTPS

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
BIG = 10_000_000


async def admitted_concurrently(url: str, scope: Scope, requests: int, clients: int) -> int:
    connections = [aioredis.Redis.from_url(url) for _ in range(clients)]
    limiters = [RedisLimiter(c) for c in connections]
    try:
        decisions = await asyncio.gather(*(limiters[i % clients].check([scope])
                                           for i in range(requests)))
    finally:
        for c in connections:
            await c.aclose()
    return sum(d.allowed for d in decisions)


@hsettings(max_examples=15, deadline=None)
@given(burst=st.integers(1, 40), requests=st.integers(1, 80))
def test_parallel_requests_never_get_more_than_the_bucket(settings: Settings, burst: int,
                                                          requests: int) -> None:
    scope = Scope(f"test:{uuid.uuid4()}", Limits(0.001, burst, BIG, BIG, BIG))
    admitted = asyncio.run(admitted_concurrently(settings.redis_url, scope, requests, 8))
    assert admitted == min(burst, requests)


def test_requests_batched_into_one_call_are_each_charged_all_or_nothing(
        settings: Settings) -> None:
    tight = Scope(f"test:{uuid.uuid4()}", Limits(0.001, 1, BIG, BIG, BIG))
    roomy = Scope(f"test:{uuid.uuid4()}", Limits(0.001, 5, BIG, BIG, BIG))

    async def run() -> list[tuple[bool, int]]:
        client = aioredis.Redis.from_url(settings.redis_url)
        limiter = RedisLimiter(client)
        try:
            decisions = await asyncio.gather(  # one turn of the loop: one script call
                limiter.check([tight, roomy]), limiter.check([tight, roomy]),
                limiter.check([roomy]))
            after = await limiter.check([roomy])
        finally:
            await client.aclose()
        return [(d.allowed, d.remaining) for d in [*decisions, after]]

    # The refused second request charged neither scope: roomy went 5 -> 4 -> 3 -> 2.
    assert asyncio.run(run()) == [(True, 0), (False, 0), (True, 3), (True, 2)]


def test_one_batch_sharing_a_scope_charges_it_once_per_admitted_request(
        settings: Settings) -> None:
    # The script reads a scope once per batch and writes it once at the end: the requests of
    # one batch must still see each other's charges, in the bucket and in every window.
    bucket = Scope(f"test:{uuid.uuid4()}", Limits(0.001, 5, BIG, BIG, BIG))
    daily = Scope(f"test:{uuid.uuid4()}", Limits(10_000, 10_000, BIG, BIG, 3))

    async def run() -> tuple[list[bool], list[bool], int, int]:
        client = aioredis.Redis.from_url(settings.redis_url)
        limiter = RedisLimiter(client)
        try:
            first = await asyncio.gather(*(limiter.check([bucket]) for _ in range(8)))
            second = await asyncio.gather(*(limiter.check([daily]) for _ in range(6)))
            later = (await limiter.check([bucket])).allowed, (await limiter.check([daily])).allowed
        finally:
            await client.aclose()
        return [d.allowed for d in first], [d.allowed for d in second], *map(int, later)

    by_bucket, by_day, bucket_later, day_later = asyncio.run(run())
    assert by_bucket == [True] * 5 + [False] * 3
    assert by_day == [True] * 3 + [False] * 3
    assert (bucket_later, day_later) == (0, 0)  # what the batch charged was stored


def _hammer(url: str, key: str, tries: int, out: Any) -> None:
    scope = Scope(key, Limits(10_000, 10_000, BIG, BIG, 37))

    async def run() -> int:
        client = aioredis.Redis.from_url(url)
        limiter = RedisLimiter(client)
        n = sum([(await limiter.check([scope])).allowed for _ in range(tries)])
        await client.aclose()
        return n

    out.put(asyncio.run(run()))


def test_the_per_day_limit_holds_across_processes(settings: Settings) -> None:
    key, results = f"test:{uuid.uuid4()}", multiprocessing.get_context("spawn").Queue()
    procs = [multiprocessing.get_context("spawn").Process(
        target=_hammer, args=(settings.redis_url, key, 25, results)) for _ in range(4)]
    for p in procs:
        p.start()
    counts = [results.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    assert sum(counts) == 37


def client_for(settings: Settings) -> TestClient[Any]:
    client = TestClient(app=create_app(settings), base_url=HTTPS, raise_server_exceptions=False)
    client.headers.update(AUTH)
    return client


def test_responses_carry_the_limit_headers_and_excess_gets_429(settings: Settings,
                                                               workers: Workers) -> None:
    tight = msgspec.structs.replace(settings, rate_limit_per_second=0.01, rate_limit_burst=3,
                                    admin_token=f"{ADMIN_TOKEN}")
    with client_for(tight) as client:
        asyncio.run(_forget(settings))
        ok = [client.get("/v1/organizations?limit=1") for _ in range(3)]
        assert [r.status_code for r in ok] == [200, 200, 200]
        assert ok[0].headers["ratelimit-limit"] == "3"
        assert [r.headers["ratelimit-remaining"] for r in ok] == ["2", "1", "0"]
        assert ok[0].headers["x-ratelimit-remaining"] == "2"
        refused = client.get("/v1/organizations?limit=1")
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "rate_limited"
        assert int(refused.headers["retry-after"]) >= 1
        assert refused.headers["ratelimit-remaining"] == "0"
        counts = asyncio.run(_limited_counts(settings))
        assert sum(counts.values()) >= 1
    asyncio.run(_forget(settings))


def _limiter(client: aioredis.Redis, settings: Settings) -> RedisLimiter:
    return RedisLimiter(client, prefix=f"{settings.redis_key_prefix}rl")


async def _forget(settings: Settings) -> None:
    client = aioredis.Redis.from_url(settings.redis_url)
    async for key in client.scan_iter(f"{settings.redis_key_prefix}rl:{{operator:*"):
        await client.delete(key)
    await client.aclose()


async def _limited_counts(settings: Settings) -> dict[int, int]:
    client = aioredis.Redis.from_url(settings.redis_url)
    counts = await _limiter(client, settings).limited_counts("operator:platform-operator")
    await client.aclose()
    return counts


@pytest.mark.parametrize(("mode", "expected"), [("open", 200), ("closed", 503)])
def test_an_unreachable_redis_follows_the_failure_mode_without_hanging(
        settings: Settings, workers: Workers, mode: str, expected: int) -> None:
    dead = msgspec.structs.replace(settings, redis_url="redis://127.0.0.1:1/0",
                                   rate_limit_failure_mode=mode, rate_limit_burst=2,
                                   rate_limit_per_second=0.01)
    with client_for(dead) as client:
        started = time.monotonic()
        first = client.get("/v1/organizations?limit=1")
        assert time.monotonic() - started < 2
        assert first.status_code == expected, first.text
        if mode == "closed":
            assert first.json()["error"]["code"] == "rate_limiter_unavailable"
        else:
            codes = [client.get("/v1/organizations?limit=1").status_code for _ in range(2)]
            assert codes == [200, 429], "the local bucket still limits"
