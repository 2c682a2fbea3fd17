"""API metrics (the seed's ApiMetric) read from the materialized views' aggregate states of the
request log: ``api_metrics_1m``, ``_1h`` or ``_1d``, the bucket's own (an hour's states are
its minutes' merged, a day's its hours'), merged again for the window; never a raw scan.

Four queries per answer: the counts by every dimension at once (method, route, status,
rate-limited flag), folded here into totals and breakdowns; the refusals by key
(``api_refusals_1m``); the window's latency quantiles (quantile states do not add up, so they
are merged in ClickHouse); and the series, one row per bucket (and per ``group_by`` key) with
its own quantiles.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal, NamedTuple
from uuid import UUID

from clickhouse_connect.driver.client import Client

Bucket = Literal["1m", "1h", "1d"]
GroupBy = Literal["method", "status", "endpoint"]
BUCKET_SECONDS: dict[str, int] = {"1m": 60, "1h": 3600, "1d": 86400}
TABLES = {"1m": ("api_metrics_1m", "minute"), "1h": ("api_metrics_1h", "hour"),
          "1d": ("api_metrics_1d", "day")}  # a bucket's table and its time column
REFUSALS = "api_refusals_1m"
_KEY = {None: "''", "method": "method", "status": "toString(status)",
        "endpoint": "concat(method, ' ', route)"}
_QUANTILES = "quantilesMerge(0.5, 0.95, 0.99)(latency)"


class Window(NamedTuple):
    organization_id: UUID | None  # None: every organization (the operator's view)
    start: datetime  # inclusive, on a bucket's edge
    end: datetime  # exclusive, on a bucket's edge
    bucket: Bucket = "1h"
    group_by: GroupBy | None = None


class Latency(NamedTuple):
    average: float
    p50: float
    p95: float
    p99: float


class Point(NamedTuple):
    at: datetime
    key: str | None
    requests: int
    errors: int
    latency: Latency


class Breakdown(NamedTuple):
    requests: int
    successful: int  # status below 400
    by_method: dict[str, int]
    by_status: dict[str, int]
    by_endpoint: dict[str, int]  # "GET /v1/organizations/{organization_id}"
    errors_by_type: dict[str, int]  # "4xx", "5xx"
    errors_by_endpoint: dict[str, int]
    rate_limited: int
    rate_limited_by_key: dict[str, int]  # "" for refusals of callers without a key
    duration_sum: float


class Metrics(NamedTuple):
    window: Window
    totals: Breakdown
    latency: Latency
    series: list[Point]


def _where(w: Window, at: str) -> tuple[str, dict[str, Any]]:
    values: dict[str, Any] = {"start": w.start, "end": w.end}
    clause = f"{at} >= {{start:DateTime('UTC')}} AND {at} < {{end:DateTime('UTC')}}"
    if w.organization_id is not None:
        clause += " AND organization_id = {org:UUID}"
        values["org"] = w.organization_id
    return clause, values


def floor_time(at: datetime, bucket: Bucket) -> datetime:
    """``at`` down to its bucket's edge (UTC): the view knows nothing finer than a minute."""
    seconds = BUCKET_SECONDS[bucket]
    stamp = int(at.timestamp())
    return datetime.fromtimestamp(stamp - stamp % seconds, UTC)


def breakdown(rows: Sequence[Sequence[Any]], keys: Sequence[Sequence[Any]]) -> Breakdown:
    """Totals and breakdowns from (method, route, status, rate_limited, count, sum) rows and
    (key, refusals) rows."""
    by: dict[str, Counter[str]] = {k: Counter() for k in (
        "method", "status", "endpoint", "type", "error_endpoint")}
    total = successful = limited = 0
    duration = 0.0
    for method, route, status, rate_limited, count, summed in rows:
        endpoint = f"{method} {route}"
        total += count
        duration += summed
        by["method"][method] += count
        by["status"][str(status)] += count
        by["endpoint"][endpoint] += count
        if status < 400:
            successful += count
        else:
            by["type"][f"{status // 100}xx"] += count
            by["error_endpoint"][endpoint] += count
        if rate_limited:
            limited += count
    return Breakdown(total, successful, dict(by["method"]), dict(by["status"]),
                     dict(by["endpoint"]), dict(by["type"]), dict(by["error_endpoint"]),
                     limited, {key: int(n) for key, n in keys}, duration)


def _latency(count: int, summed: float, quantiles: list[float]) -> Latency:
    if not count:
        return Latency(0.0, 0.0, 0.0, 0.0)
    p50, p95, p99 = quantiles
    return Latency(summed / count, p50, p95, p99)


def metrics(ch: Client, w: Window) -> Metrics:
    table, at = TABLES[w.bucket]
    clause, values = _where(w, at)
    counts = ch.query(
        f"SELECT method, route, status, rate_limited, countMerge(requests),"
        f" sumMerge(duration_sum) FROM {table} WHERE {clause}"
        " GROUP BY method, route, status, rate_limited", parameters=values)
    refused, _ = _where(w, "minute")
    keys = ch.query(f"SELECT api_key_id, sum(refusals) FROM {REFUSALS} WHERE {refused}"
                    " GROUP BY api_key_id", parameters=values)
    totals = breakdown(counts.result_rows, keys.result_rows)
    whole = ch.query(f"SELECT {_QUANTILES} FROM {table} WHERE {clause}", parameters=values)
    latency = _latency(totals.requests, totals.duration_sum, whole.result_rows[0][0])
    series = ch.query(
        f"SELECT {at} AS bucket, {_KEY[w.group_by]} AS key, countMerge(requests),"
        f" countMergeIf(requests, status >= 400), sumMerge(duration_sum), {_QUANTILES}"
        f" FROM {table} WHERE {clause} GROUP BY bucket, key ORDER BY bucket, key",
        parameters=values)
    points = [Point(start.replace(tzinfo=UTC), key if w.group_by else None, count, errors,
                    _latency(count, summed, quantiles))
              for start, key, count, errors, summed, quantiles in series.result_rows]
    return Metrics(w, totals, latency, points)
