"""API metrics: ``GET /v1/metrics``, the request log's figures over a window, in 1 m / 1 h / 1 d
buckets, from ClickHouse's materialized minute states. A tenant sees its own organization; the
operator every one, or one with ``organizationId``. The permission is `analytics` (read)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated
from uuid import UUID

from anyio import to_thread
from litestar import Controller, Request, get
from litestar.params import QueryParameter

from api.analytics.schemas import (
    Errors,
    MetricPoint,
    MetricSet,
    MetricsOut,
    Performance,
    RateLimitRefusals,
    RequestCounts,
)
from api.audit.routes import OrgParam
from api.auth.access import Tenant, require
from api.platform import openapi as docs
from api.platform.dependencies import Services
from api.platform.errors import ApiException, FieldError
from api.platform.times import parse_time
from domain import limits as lim
from infra.container import Container
from projections import metric_queries as queries

RESOURCE = "analytics"
DEFAULT_WINDOW = timedelta(days=1)
# What ClickHouse's DateTime holds (1970 to 2106), with room for a bucket on either side.
EARLIEST, LATEST = datetime(1970, 1, 2, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
Since = Annotated[str | None, QueryParameter(
    name="from", max_length=lim.MAX_TIMESTAMP_TEXT, required=False,
    description="The window's start, RFC 3339, down to its bucket (default: a day before to)")]
Until = Annotated[str | None, QueryParameter(
    name="to", max_length=lim.MAX_TIMESTAMP_TEXT, required=False,
    description="The window's end (exclusive), RFC 3339, up to its bucket (default: now)")]


def window(org_id: UUID | None, since: str | None, until: str | None,
           bucket: queries.Bucket, group_by: queries.GroupBy | None) -> queries.Window:
    """The window on its buckets' edges: ``from`` down, ``to`` up, at most MAX_METRIC_BUCKETS."""
    end = parse_time(until, "to") or datetime.now(UTC)
    start = parse_time(since, "from") or end - DEFAULT_WINDOW
    if not EARLIEST <= start <= end <= LATEST:
        message = "from and to must be times from 1970 to 2099, from before to"
        raise ApiException(400, "invalid_parameter", message, details=[FieldError("from", message)])
    step = queries.BUCKET_SECONDS[bucket]
    start = queries.floor_time(start, bucket)
    floored = queries.floor_time(end, bucket)
    end = floored if floored == end else floored + timedelta(seconds=step)
    if not start < end or (end - start).total_seconds() / step > lim.MAX_METRIC_BUCKETS:
        message = (f"from must be before to, and the window at most {lim.MAX_METRIC_BUCKETS}"
                   f" buckets of {bucket}")
        raise ApiException(400, "invalid_parameter", message,
                           details=[FieldError("from", message)])
    return queries.Window(org_id, start, end, bucket, group_by)


def _performance(latency: queries.Latency) -> Performance:
    return Performance(average_response_time=latency.average, p50_response_time=latency.p50,
                       p95_response_time=latency.p95, p99_response_time=latency.p99)


def _rates(part: dict[str, int], whole: dict[str, int] | int) -> dict[str, float]:
    return {k: n / (whole if isinstance(whole, int) else whole[k]) for k, n in part.items()}


def metric_set(t: queries.Breakdown, latency: queries.Latency) -> MetricSet:
    failed = t.requests - t.successful
    return MetricSet(
        requests=RequestCounts(total=t.requests, successful=t.successful, failed=failed,
                               by_method=t.by_method, by_status=t.by_status,
                               by_endpoint=t.by_endpoint),
        performance=_performance(latency),
        errors=Errors(total=failed, rate=failed / t.requests if t.requests else 0.0,
                      by_type=t.errors_by_type, rate_by_type=_rates(t.errors_by_type, t.requests),
                      by_endpoint=t.errors_by_endpoint,
                      rate_by_endpoint=_rates(t.errors_by_endpoint, t.by_endpoint)),
        rate_limit=RateLimitRefusals(total=t.rate_limited, by_api_key=t.rate_limited_by_key))


def metrics_out(m: queries.Metrics) -> MetricsOut:
    w = m.window
    return MetricsOut(
        organization_id=w.organization_id, from_=w.start, to=w.end, bucket=w.bucket,
        group_by=w.group_by, metrics=metric_set(m.totals, m.latency),
        series=[MetricPoint(timestamp=p.at, key=p.key, requests=p.requests, errors=p.errors,
                            performance=_performance(p.latency)) for p in m.series])


async def query(container: Container, w: queries.Window) -> queries.Metrics:
    shared = container.analytics
    assert shared is not None  # built by the container with every other adapter
    return await to_thread.run_sync(lambda: queries.metrics(shared.get(), w))


class MetricsController(Controller):
    path = "/v1/metrics"
    tags = ["analytics"]

    @get("/", summary="API metrics over a window: totals, breakdowns, error rates, latency"
                      " percentiles and rate-limit refusals, with a bucketed series",
         **docs.read(MetricsOut, "invalid_parameter", "permission_denied"))
    async def metrics(self, request: Request, container: Services, tenant: Tenant,
                      organization_id: OrgParam = None, since: Since = None,
                      until: Until = None,
                      bucket: Annotated[queries.Bucket, QueryParameter(
                          description="The series' step")] = "1h",
                      group_by: Annotated[queries.GroupBy | None, QueryParameter(
                          required=False, description="The series' breakdown")] = None,
                      ) -> MetricsOut:
        org_id = organization_id or tenant
        require(request, RESOURCE, "read", org_id)
        found = await query(container, window(org_id, since, until, bucket, group_by))
        return metrics_out(found)
