"""ClickHouse adapter: clients from CLICKHOUSE_URL and the analytics tables' DDL."""

from __future__ import annotations

from urllib.parse import urlparse

import clickhouse_connect
from clickhouse_connect.driver.client import Client

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
    db.close()
