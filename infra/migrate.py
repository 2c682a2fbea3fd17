"""Migrations: event store tables, read-model tables, ClickHouse tables and Kafka topics."""

from __future__ import annotations

import psycopg
from psycopg import sql

from infra import clickhouse, idempotency, kafka, replay, signing, tokens
from infra.eventstore import EventStore, datastore_from_url
from infra.projector import deadletter, records
from infra.settings import Settings
from projections.registry import OWN_PROCESS, PROJECTIONS, postgres_ddl
from projections.rows import READER_ROLE_DDL

BOOKKEEPING = [
    *READER_ROLE_DDL,
    idempotency.DDL,
    signing.DDL,
    *tokens.DDL,
    *replay.DDL,
    "CREATE TABLE IF NOT EXISTS relay_checkpoint ("
    " name text PRIMARY KEY, position bigint NOT NULL,"
    " updated_at timestamptz NOT NULL DEFAULT now())",
    "CREATE TABLE IF NOT EXISTS projection_partitions ("
    " projection text NOT NULL, topic text NOT NULL, partition int NOT NULL,"
    " next_offset bigint NOT NULL DEFAULT 0, caught_up_position bigint NOT NULL DEFAULT 0,"
    " updated_at timestamptz NOT NULL DEFAULT now(),"
    " PRIMARY KEY (projection, topic, partition))",
    deadletter.DDL,
    records.DDL,
]


def migrate_postgres(settings: Settings) -> None:
    store = EventStore(datastore_from_url(settings.database_url, pool_size=1, max_overflow=0))
    try:
        store.create_tables()
    finally:
        store.close()
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        for statement in [*map(sql.SQL, BOOKKEEPING), *postgres_ddl()]:
            conn.execute(statement.as_string(conn))
        seed_partitions(conn, settings)


def seed_partitions(conn: psycopg.Connection, settings: Settings) -> None:
    """One checkpoint row per projection and partition, so lag is known before first use."""
    for name, spec in {**PROJECTIONS, **OWN_PROCESS}.items():
        for aggregate in spec.aggregates:
            for partition in range(settings.kafka_partitions):
                conn.execute(
                    "INSERT INTO projection_partitions (projection, topic, partition)"
                    " VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                    (name, settings.topic(aggregate), partition))


def migrate(settings: Settings, *, log: bool = True) -> None:
    steps = [
        ("postgres", lambda: migrate_postgres(settings)),
        ("clickhouse", lambda: clickhouse.migrate(settings)),
        ("kafka", lambda: kafka.create_topics(settings)),
    ]
    for name, step in steps:
        step()
        if log:
            print(f"migrated {name}", flush=True)
