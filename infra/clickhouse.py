"""ClickHouse adapter: clients from CLICKHOUSE_URL and the analytics tables' DDL."""

from __future__ import annotations

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


def client(settings: Settings, *, database: str | None = None) -> Client:
    url = urlparse(settings.clickhouse_url)
    return clickhouse_connect.get_client(
        host=url.hostname or "127.0.0.1", port=url.port or 8123,
        username=url.username or "default", password=url.password or "",
        database=database if database is not None else database_of(settings),
        secure=url.scheme == "https", connect_timeout=5, send_receive_timeout=30)


def migrate(settings: Settings) -> None:
    admin = client(settings, database="default")
    admin.command(f"CREATE DATABASE IF NOT EXISTS `{database_of(settings)}`")
    admin.close()
    db = client(settings)
    db.command(EVENTS_DDL.format(table="events"))
    db.command(API_REQUESTS_DDL.format(table="api_requests"))
    db.close()
