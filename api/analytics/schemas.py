"""Analytics' response bodies: API metrics (the seed's ApiMetric) and usage (UsageMetrics)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec

from api.platform.schemas import Out


class RequestCounts(Out, frozen=True):
    total: int
    successful: int  # status below 400
    failed: int
    by_method: dict[str, int]
    by_status: dict[str, int]
    by_endpoint: dict[str, int]  # "GET /v1/organizations/{organization_id}"


class Performance(Out, frozen=True):
    average_response_time: float  # milliseconds, as every figure below
    p50_response_time: float
    p95_response_time: float
    p99_response_time: float


class Errors(Out, frozen=True):
    total: int
    rate: float  # of every request
    by_type: dict[str, int]  # "4xx", "5xx"
    rate_by_type: dict[str, float]
    by_endpoint: dict[str, int]
    rate_by_endpoint: dict[str, float]  # of that endpoint's requests


class RateLimitRefusals(Out, frozen=True):
    total: int
    by_api_key: dict[str, int]  # "" for callers without a key


class MetricSet(Out, frozen=True):
    requests: RequestCounts
    performance: Performance
    errors: Errors
    rate_limit: RateLimitRefusals


class MetricPoint(Out, frozen=True):
    timestamp: datetime  # the bucket's start
    key: str | None  # the groupBy value: a method, a status code or "METHOD route"
    requests: int
    errors: int
    performance: Performance


class MetricsOut(Out, frozen=True):
    organization_id: UUID | None  # None: every organization (the operator's view)
    from_: datetime = msgspec.field(name="from")
    to: datetime
    bucket: str
    group_by: str | None
    metrics: MetricSet
    series: list[MetricPoint]
