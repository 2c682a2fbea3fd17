"""One dashboard snapshot for one scope, as the JSON its stream pushes: requests/s, latency
percentiles and errors over the last minutes (a point per minute), errors by endpoint, the
pipeline's lag and this month's usage. A tenant's snapshot holds its organization's numbers
only; the pipeline's lag is the platform's, so a tenant sees how long events wait, not how
many other organizations' events there are."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from uuid import UUID

import msgspec
from anyio import to_thread

from domain import limits as lim
from domain.organization.plans import METRICS, quota_of
from infra.container import Container
from projections import dashboard_queries as queries
from projections import metric_queries
from projections.status import pipeline_async


class Base(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    pass


class Point(Base, frozen=True):
    at: datetime
    requests: int
    errors: int
    per_second: float
    errors_per_second: float
    p50: float
    p95: float
    p99: float


class Endpoint(Base, frozen=True):
    endpoint: str
    requests: int
    errors: int
    error_rate: float


class Latency(Base, frozen=True):
    average: float
    p50: float
    p95: float
    p99: float


class Requests(Base, frozen=True):
    total: int
    failed: int
    per_second: float  # over the last complete minute and the current one so far


class Lag(Base, frozen=True):
    stage: str
    waiting_seconds: float
    lag: int | None = None  # events behind the store's head: the operator's view only


class Usage(Base, frozen=True):
    period: str
    plan: str | None
    organizations: int
    api_calls: int
    bandwidth: int
    storage: int
    users: int
    limits: dict[str, int] | None = None
    percent_used: dict[str, float] | None = None


class Snapshot(Base, frozen=True):
    at: datetime
    organization_id: UUID | None  # None: every organization (the operator's view)
    interval_seconds: float
    window_minutes: int
    requests: Requests
    latency: Latency
    series: list[Point]
    endpoints: list[Endpoint]
    errors_by_endpoint: list[Endpoint]
    lag: list[Lag]
    usage: Usage


def _series(found: metric_queries.Metrics, now: datetime) -> list[Point]:
    """A point per minute of the window, zero where there was no request."""
    by_minute = {p.at: p for p in found.series}
    points, at = [], found.window.start
    while at < found.window.end:
        p = by_minute.get(at)
        seconds = min(max((now - at).total_seconds(), 1.0), 60.0)
        requests, errors = (p.requests, p.errors) if p else (0, 0)
        points.append(Point(at=at, requests=requests, errors=errors,
                            per_second=round(requests / seconds, 3),
                            errors_per_second=round(errors / seconds, 3),
                            p50=p.latency.p50 if p else 0.0, p95=p.latency.p95 if p else 0.0,
                            p99=p.latency.p99 if p else 0.0))
        at += timedelta(minutes=1)
    return points


def _endpoints(t: metric_queries.Breakdown, by_errors: bool) -> list[Endpoint]:
    counts = t.errors_by_endpoint if by_errors else t.by_endpoint
    top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:lim.DASHBOARD_TOP_ENDPOINTS]
    return [Endpoint(endpoint=e, requests=t.by_endpoint.get(e, 0),
                     errors=t.errors_by_endpoint.get(e, 0),
                     error_rate=round(t.errors_by_endpoint.get(e, 0) / t.by_endpoint[e], 4)
                     if t.by_endpoint.get(e) else 0.0) for e, _ in top]


def _usage(org: UUID | None, period: str, counts: queries.Counts, levels: queries.Levels,
           plan: str | None, organizations: int) -> Usage:
    used = {"apiCalls": counts.api_calls, "bandwidth": counts.bandwidth,
            "storage": levels.storage, "users": levels.users}
    quota = quota_of(plan) if plan is not None else None
    return Usage(period=period, plan=plan, organizations=1 if org else organizations,
                 api_calls=counts.api_calls, bandwidth=counts.bandwidth,
                 storage=levels.storage, users=levels.users,
                 limits={m: quota.of(m) for m in METRICS} if quota else None,
                 percent_used={m: round(100 * used[m] / quota.of(m), 2) for m in METRICS}
                 if quota else None)


class Snapshots:
    """Computes a scope's snapshot (``await snapshots(org)``). Storage and users, which move
    slowly and are sums over ClickHouse's resources and users tables, are measured once per
    USAGE_REFRESH_S per scope, not on every tick."""

    def __init__(self, container: Container) -> None:
        self.container = container
        self.levels: dict[UUID | None, tuple[float, queries.Levels, str | None]] = {}

    async def _levels(self, org: UUID | None) -> tuple[queries.Levels, str | None]:
        kept = self.levels.get(org)
        if kept is not None and time.monotonic() - kept[0] < self.container.settings.usage_refresh_s:
            return kept[1], kept[2]
        shared = self.container.analytics
        assert shared is not None  # built by the container with every other adapter
        levels = await to_thread.run_sync(lambda: queries.month_levels(shared.get(), org))
        async with self.container.pool.connection() as conn:
            plan = await queries.plan(conn, org)
        self.levels[org] = (time.monotonic(), levels, plan)
        return levels, plan

    async def __call__(self, org: UUID | None, now: datetime | None = None) -> bytes:
        """The scope's snapshot, encoded once for every viewer of it."""
        now = now or datetime.now(UTC)
        settings, shared = self.container.settings, self.container.analytics
        assert shared is not None  # built by the container with every other adapter
        period = queries.period_now(now)

        def from_clickhouse() -> tuple[metric_queries.Metrics, tuple[queries.Counts, int]]:
            ch = shared.get()
            return (queries.traffic(ch, org, now, settings.dashboard_window_minutes),
                    queries.month_counts(ch, org, period))

        found, (counts, organizations) = await to_thread.run_sync(from_clickhouse)
        levels, plan = await self._levels(org)
        stages = await pipeline_async(self.container.pool)
        series = _series(found, now)
        last = series[-2:]
        seconds = sum(min(max((now - p.at).total_seconds(), 1.0), 60.0) for p in last)
        t, lat = found.totals, found.latency
        return msgspec.json.encode(Snapshot(
            at=now, organization_id=org, interval_seconds=settings.dashboard_interval_s,
            window_minutes=settings.dashboard_window_minutes,
            requests=Requests(total=t.requests, failed=t.requests - t.successful,
                              per_second=round(sum(p.requests for p in last) / seconds, 3)),
            latency=Latency(average=lat.average, p50=lat.p50, p95=lat.p95, p99=lat.p99),
            series=series, endpoints=_endpoints(t, False),
            errors_by_endpoint=_endpoints(t, True),
            lag=[Lag(stage=s.name, waiting_seconds=round(s.waiting_s, 3),
                     lag=s.lag if org is None else None) for s in stages],
            usage=_usage(org, period, counts, levels, plan, organizations)))
