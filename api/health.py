"""Liveness and readiness (the seed's HealthCheck): each dependency's status and response time."""

from __future__ import annotations

import asyncio
import time
import urllib.request
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Literal

import msgspec
from anyio import to_thread
from litestar import Request, Response, get

from api.openapi import health
from infra.container import Container

Status = Literal["healthy", "degraded", "unhealthy"]
REQUIRED = ("database", "redis")
CHECK_TIMEOUT_S = 2.0

try:
    VERSION = version("chronicle")
except PackageNotFoundError:  # running from a source tree that was not installed
    VERSION = "0.0.0"


class ServiceStatus(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    status: Status
    response_time: float
    last_checked: datetime
    error_message: str | None = None


class HealthCheck(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    service: str
    status: Status
    timestamp: datetime
    response_time: float
    details: dict[str, ServiceStatus]
    version: str
    uptime: float


async def _probe(check: Callable[[], Awaitable[object]]) -> ServiceStatus:
    started = time.perf_counter()
    error = None
    try:
        await asyncio.wait_for(check(), CHECK_TIMEOUT_S)
    except Exception as exc:  # a failed probe is reported, never raised
        error = f"{type(exc).__name__}: {exc}"[:300] or "unreachable"
    elapsed = round((time.perf_counter() - started) * 1000, 2)
    return ServiceStatus(status="unhealthy" if error else "healthy", response_time=elapsed,
                         last_checked=datetime.now(UTC), error_message=error)


def checks(c: Container) -> dict[str, Callable[[], Awaitable[object]]]:
    async def database() -> object:
        async with c.pool.connection(timeout=CHECK_TIMEOUT_S) as conn:
            return await conn.execute("SELECT 1")

    async def kafka() -> object:
        return await to_thread.run_sync(lambda: c.kafka_admin.list_topics(timeout=1.5))

    async def clickhouse() -> object:
        base = c.settings.clickhouse_url.rsplit("/", 1)[0] if c.settings.clickhouse_url.count(
            "/") > 2 else c.settings.clickhouse_url
        return await to_thread.run_sync(
            lambda: urllib.request.urlopen(f"{base}/ping", timeout=1.5).read())  # noqa: S310

    return {"database": database, "redis": c.redis.ping, "kafka": kafka,
            "clickhouse": clickhouse}


@get("/health/live", summary="Liveness", tags=["health"], **health())
async def live() -> dict[str, str]:
    return {"status": "healthy"}


@get("/health/ready", summary="Readiness with each dependency's status", tags=["health"],
     **health(unhealthy=HealthCheck))
async def ready(request: Request) -> Response[HealthCheck]:
    c: Container = request.app.state.container
    started = time.perf_counter()
    named = checks(c)
    results = await asyncio.gather(*(_probe(f) for f in named.values()))
    details = dict(zip(named, results, strict=True))
    down = {n for n, s in details.items() if s.status != "healthy"}
    status: Status = "unhealthy" if down & set(REQUIRED) else "degraded" if down else "healthy"
    body = HealthCheck(
        service="chronicle-api", status=status, timestamp=datetime.now(UTC),
        response_time=round((time.perf_counter() - started) * 1000, 2), details=details,
        version=VERSION, uptime=round(time.monotonic() - c.started, 3))
    return Response(body, status_code=503 if status == "unhealthy" else 200)
