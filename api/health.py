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
from litestar import Response, get

from api.platform.dependencies import Services
from api.platform.openapi import health
from infra.container import Container
from projections.status import Stage, pipeline_async

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


class StageStatus(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """One stage of the write-to-read pipeline: the relay or a projection."""

    name: str
    status: Status
    position: int
    head: int
    lag: int
    waiting_seconds: float  # age of the oldest event the stage has not passed yet
    parked: int  # events set aside after bounded retries (chronicle projections retry NAME)


class HealthCheck(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    service: str
    status: Status
    timestamp: datetime
    response_time: float
    details: dict[str, ServiceStatus]
    version: str
    uptime: float
    pipeline: list[StageStatus] = []


def stage_status(stage: Stage, stall_s: float) -> StageStatus:
    """Stalled (unhealthy) once an event has waited ``stall_s``; degraded at a fifth of that, or
    while events are parked (the stage goes on, but some writes are missing from it)."""
    status: Status = ("unhealthy" if stage.waiting_s > stall_s
                      else "degraded" if stage.waiting_s > stall_s / 5 or stage.parked
                      else "healthy")
    return StageStatus(name=stage.name, status=status, position=stage.position, head=stage.head,
                       lag=stage.lag, waiting_seconds=round(stage.waiting_s, 3),
                       parked=stage.parked)


def pipeline_summary(stages: list[StageStatus], elapsed_ms: float) -> ServiceStatus:
    worst = [s for s in stages if s.status != "healthy"]
    status: Status = ("unhealthy" if any(s.status == "unhealthy" for s in worst)
                      else "degraded" if worst else "healthy")
    message = "; ".join(
        f"{s.name} has parked {s.parked} event(s)" if s.waiting_seconds <= 0 else
        f"{s.name} has not passed position {s.position + 1} for {s.waiting_seconds:.0f} s"
        f" (head {s.head})" for s in worst) or None
    return ServiceStatus(status=status, response_time=elapsed_ms, last_checked=datetime.now(UTC),
                         error_message=message)


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


async def _pipeline(c: Container) -> list[StageStatus] | None:
    """The relay's and every projection's progress; None when the database cannot say."""
    try:
        found = await asyncio.wait_for(pipeline_async(c.pool), CHECK_TIMEOUT_S)
    except Exception:  # the database probe reports why
        return None
    return [stage_status(s, c.settings.pipeline_stall_seconds) for s in found]


@get("/health/live", summary="Liveness", tags=["health"], **health())
async def live() -> dict[str, str]:
    return {"status": "healthy"}


@get("/health/ready", summary="Readiness with each dependency's status", tags=["health"],
     **health(unhealthy=HealthCheck))
async def ready(container: Services) -> Response[HealthCheck]:
    c = container
    started = time.perf_counter()
    named = checks(c)
    results, stages = await asyncio.gather(
        asyncio.gather(*(_probe(f) for f in named.values())), _pipeline(c))
    details = dict(zip(named, results, strict=True))
    if stages is not None:
        details["pipeline"] = pipeline_summary(stages, round((time.perf_counter() - started) * 1000, 2))
    down = {n for n, s in details.items() if s.status != "healthy"}
    broken = {n for n, s in details.items() if s.status == "unhealthy"}
    # Writes that would not become readable make the API unready, like a database that is down.
    status: Status = ("unhealthy" if broken & {*REQUIRED, "pipeline"}
                      else "degraded" if down else "healthy")
    body = HealthCheck(
        service="chronicle-api", status=status, timestamp=datetime.now(UTC),
        response_time=round((time.perf_counter() - started) * 1000, 2), details=details,
        version=VERSION, uptime=round(time.monotonic() - c.started, 3), pipeline=stages or [])
    return Response(body, status_code=503 if status == "unhealthy" else 200)
