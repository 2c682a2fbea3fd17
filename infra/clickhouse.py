"""ClickHouse adapter: clients from CLICKHOUSE_URL and the analytics tables' DDL."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from urllib.parse import urlparse

import clickhouse_connect
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.insert import InsertContext

from infra.settings import Settings

EVENTS_DDL = """
CREATE TABLE IF NOT EXISTS {table} (
    organization_id UUID,
    stream_id UUID,
    stream_type LowCardinality(String),
    version UInt64,
    position UInt64,
    event_id UUID,
    event_type LowCardinality(String),
    occurred_at DateTime64(6, 'UTC'),
    actor_kind LowCardinality(String),
    actor_id String,
    request_id String,
    correlation_id String,
    payload String
) ENGINE = ReplacingMergeTree
ORDER BY (organization_id, stream_id, version)
"""

# The request log (projections/api_requests.py). A row's key is its request, so a batch the
# projector applies again collapses onto the rows it wrote; no organization is the nil UUID.
# Each row expires with its organization's dataRetention.logs, computed as it is written.
API_REQUESTS_DDL = """
CREATE TABLE IF NOT EXISTS {table} (
    organization_id UUID,
    timestamp DateTime64(3, 'UTC'),
    request_id String,
    trace_id String,
    method LowCardinality(String),
    route LowCardinality(String),
    status UInt16,
    duration_ms Float64,
    actor_kind LowCardinality(String),
    api_key_id String,
    user_id String,
    client_id String,
    ip String,
    user_agent String,
    bytes_in UInt64,
    bytes_out UInt64,
    rate_limited Bool,
    expires_at DateTime('UTC')
) ENGINE = ReplacingMergeTree
ORDER BY (organization_id, timestamp, request_id)
TTL expires_at
"""

# Each resource's latest state (projections/resources_clickhouse.py): one row per version,
# collapsed to the newest by ReplacingMergeTree(version); read it with FINAL or argMax.
RESOURCES_DDL = """
CREATE TABLE IF NOT EXISTS {table} (
    organization_id UUID,
    type LowCardinality(String),
    id UUID,
    version UInt64,
    position UInt64,
    type_version UInt32,
    external_key Nullable(String),
    status LowCardinality(String),
    data String,
    tags Array(String),
    labels Map(String, String),
    annotations Map(String, String),
    relationships String,
    checksum String,
    size UInt32,
    created_by String,
    updated_by String,
    created_at DateTime64(6, 'UTC'),
    updated_at DateTime64(6, 'UTC'),
    deleted_at Nullable(DateTime64(6, 'UTC'))
) ENGINE = ReplacingMergeTree(version)
ORDER BY (organization_id, type, id)
"""

# Each user's latest row (projections/users_clickhouse.py), collapsed to its newest version:
# the usage meter counts the organization's users not removed (FINAL: see usage_queries.py).
USERS_DDL = """
CREATE TABLE IF NOT EXISTS {table} (
    organization_id UUID,
    id UUID,
    version UInt64,
    position UInt64,
    removed Bool
) ENGINE = ReplacingMergeTree(version)
ORDER BY (organization_id, id)
"""

# API metrics (projections/metric_queries.py): every row of api_requests, as it is inserted,
# folded into one row of aggregate states per minute and dimension (api_metrics_1m); the
# minutes' states merged again (-MergeState) as they arrive into hours (api_metrics_1h), the
# hours' into days (api_metrics_1d), so no answer scans the raw rows nor, over a month, every
# minute. The key is not one of the dimensions (it would multiply the rows by the keys): the
# refusals by key have a view of their own, of the rate-limited rows only. Like any
# materialized view these see inserts, not the ReplacingMergeTree's later collapse: a batch
# the projector writes twice (after a crash between insert and checkpoint) counts twice here.
API_METRICS_DDL = """
CREATE TABLE IF NOT EXISTS {table} (
    organization_id UUID,
    {at} DateTime('UTC'),
    method LowCardinality(String),
    route LowCardinality(String),
    status UInt16,
    rate_limited Bool,
    requests AggregateFunction(count),
    duration_sum AggregateFunction(sum, Float64),
    latency AggregateFunction(quantiles(0.5, 0.95, 0.99), Float64),
    bytes_in AggregateFunction(sum, UInt64),
    bytes_out AggregateFunction(sum, UInt64)
) ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM({at})
ORDER BY (organization_id, {at}, method, route, status, rate_limited)
"""
API_METRICS_MV = """
CREATE MATERIALIZED VIEW IF NOT EXISTS {table}_mv TO {table} AS
SELECT organization_id, toStartOfMinute(timestamp) AS {at}, method, route, status,
       rate_limited, countState() AS requests,
       sumState(duration_ms) AS duration_sum,
       quantilesState(0.5, 0.95, 0.99)(duration_ms) AS latency,
       sumState(bytes_in) AS bytes_in, sumState(bytes_out) AS bytes_out
FROM {source}
GROUP BY organization_id, {at}, method, route, status, rate_limited
"""
API_METRICS_ROLLUP = """
CREATE MATERIALIZED VIEW IF NOT EXISTS {table}_mv TO {table} AS
SELECT organization_id, {start}({source_at}) AS {at}, method, route, status, rate_limited,
       countMergeState(requests) AS requests, sumMergeState(duration_sum) AS duration_sum,
       quantilesMergeState(0.5, 0.95, 0.99)(latency) AS latency,
       sumMergeState(bytes_in) AS bytes_in, sumMergeState(bytes_out) AS bytes_out
FROM {source}
GROUP BY organization_id, {at}, method, route, status, rate_limited
"""
# (table, its time column, fed from, that table's time column, the rounding function)
API_METRICS = (("api_metrics_1m", "minute", "api_requests", "timestamp", "toStartOfMinute"),
               ("api_metrics_1h", "hour", "api_metrics_1m", "minute", "toStartOfHour"),
               ("api_metrics_1d", "day", "api_metrics_1h", "hour", "toStartOfDay"))
API_REFUSALS_DDL = """
CREATE TABLE IF NOT EXISTS {table} (
    organization_id UUID,
    minute DateTime('UTC'),
    api_key_id String,
    refusals UInt64
) ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(minute)
ORDER BY (organization_id, minute, api_key_id)
"""
API_REFUSALS_MV = """
CREATE MATERIALIZED VIEW IF NOT EXISTS {table}_mv TO {table} AS
SELECT organization_id, toStartOfMinute(timestamp) AS minute, api_key_id, count() AS refusals
FROM {source} WHERE rate_limited
GROUP BY organization_id, minute, api_key_id
"""

# The usage rollup (projections/usage_queries.py): calls and bytes per organization and
# month, summed as parts merge; readers still sum(), parts may not have merged yet.
USAGE_MONTHLY_DDL = """
CREATE TABLE IF NOT EXISTS {table} (
    organization_id UUID,
    month Date,
    api_calls UInt64,
    bytes_in UInt64,
    bytes_out UInt64
) ENGINE = SummingMergeTree
ORDER BY (organization_id, month)
"""
USAGE_MONTHLY_MV = """
CREATE MATERIALIZED VIEW IF NOT EXISTS {table}_mv TO {table} AS
SELECT organization_id, toStartOfMonth(timestamp) AS month, count() AS api_calls,
       sum(bytes_in) AS bytes_in, sum(bytes_out) AS bytes_out
FROM {source}
GROUP BY organization_id, month
"""

# Usage levels (storage and users are levels, not counts): what the meter measured of each
# organization's month, the newest measurement winning; a month's last one is its statement's.
USAGE_LEVELS_DDL = """
CREATE TABLE IF NOT EXISTS {table} (
    organization_id UUID,
    month Date,
    storage UInt64,
    users UInt64,
    measured_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree(measured_at)
ORDER BY (organization_id, month)
"""


class Inserter:
    """Inserts into one table through an insert context made once: given only column names,
    clickhouse-connect asks the server for the column types (a DESCRIBE) before every insert,
    which doubled the queries of each batch a projector writes."""

    def __init__(self, client: Client, table: str, columns: Sequence[str]) -> None:
        self.client, self.table, self.columns = client, table, list(columns)
        self._context: InsertContext | None = None

    def insert(self, rows: Sequence[Sequence[object]]) -> None:
        if self._context is None:
            self._context = self.client.create_insert_context(self.table, self.columns)
        self._context.data = rows
        try:
            self.client.insert(context=self._context)
        finally:
            self._context.data = None


def database_of(settings: Settings) -> str:
    return urlparse(settings.clickhouse_url).path.strip("/") or "default"


def client(settings: Settings, *, database: str | None = None, shared: bool = False) -> Client:
    """``shared``: one client for concurrent queries from several threads, so without a
    session (ClickHouse refuses two queries at once in one session)."""
    url = urlparse(settings.clickhouse_url)
    return clickhouse_connect.get_client(
        host=url.hostname or "127.0.0.1", port=url.port or 8123,
        username=url.username or "default", password=url.password or "",
        database=database if database is not None else database_of(settings),
        secure=url.scheme == "https", connect_timeout=5, send_receive_timeout=30,
        autogenerate_session_id=not shared)


class Shared:
    """The API process's one ClickHouse client, made on first use: the API starts, and every
    other route answers, while ClickHouse is away (analytics' routes answer 503 then)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._client: Client | None = None
        self._lock = threading.Lock()

    def get(self) -> Client:
        with self._lock:
            if self._client is None:
                self._client = client(self.settings, shared=True)
            return self._client

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None


def migrate(settings: Settings) -> None:
    admin = client(settings, database="default")
    admin.command(f"CREATE DATABASE IF NOT EXISTS `{database_of(settings)}`")
    admin.close()
    db = client(settings)
    db.command(EVENTS_DDL.format(table="events"))
    db.command(API_REQUESTS_DDL.format(table="api_requests"))
    db.command(RESOURCES_DDL.format(table="resources"))
    db.command(USERS_DDL.format(table="users"))
    for table, at, source, source_at, start in API_METRICS:
        db.command(API_METRICS_DDL.format(table=table, at=at))
        view = API_METRICS_MV if source == "api_requests" else API_METRICS_ROLLUP
        db.command(view.format(table=table, at=at, source=source, source_at=source_at,
                               start=start))
    for ddl in (API_REFUSALS_DDL, API_REFUSALS_MV):
        db.command(ddl.format(table="api_refusals_1m", source="api_requests"))
    for ddl in (USAGE_MONTHLY_DDL, USAGE_MONTHLY_MV):
        db.command(ddl.format(table="usage_monthly", source="api_requests"))
    db.command(USAGE_LEVELS_DDL.format(table="usage_levels"))
    db.close()
