"""A runner for a topic of records rather than events (the request log): the same consumer
group life, bounded retries and parking as ``Runner``, but the batch goes to the projection's
``write`` as the records' bytes (not decoded as envelopes), and its offsets live in
``record_offsets``: a topic of records has no event store positions, so it is no stage of the
write-to-read pipeline (projection status, read-your-writes, readiness) and is watched by its
consumer lag instead (chronicle_consumer_lag on the projector's /metrics)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Protocol

import psycopg
from confluent_kafka import Message

from infra.projector.progress import Progress
from infra.projector.runner import Runner
from infra.settings import Settings
from projections.base import Projection

DDL = (
    "CREATE TABLE IF NOT EXISTS record_offsets ("
    " consumer text NOT NULL, topic text NOT NULL, partition int NOT NULL,"
    " next_offset bigint NOT NULL, updated_at timestamptz NOT NULL DEFAULT now(),"
    " PRIMARY KEY (consumer, topic, partition))"
)
READ = "SELECT next_offset FROM record_offsets WHERE consumer = %s AND topic = %s AND partition = %s"
UPSERT = (
    "INSERT INTO record_offsets (consumer, topic, partition, next_offset) VALUES (%s, %s, %s, %s)"
    " ON CONFLICT (consumer, topic, partition) DO UPDATE SET next_offset ="
    " GREATEST(record_offsets.next_offset, EXCLUDED.next_offset), updated_at = now()"
)


class RecordProjection(Projection, Protocol):
    def write(self, cur: psycopg.Cursor, values: Sequence[bytes]) -> None:
        """Apply a batch of records, inside the transaction that moves the offsets."""


class Unproven(Progress):
    """Nothing to prove: a record runner keeps up when it applies or finds nothing new."""

    def mark(self, conn: psycopg.Connection) -> None:
        if not self.dirty:
            self.keeping_up_at = time.monotonic()
        self.dirty = False


class RecordRunner(Runner):
    read_offset, upsert_offset = READ, UPSERT
    # Records wait to be batched: the broker answers a fetch once it holds 1 MiB or a second
    # has passed, so the projector writes about one ClickHouse part a second whatever the
    # request rate (a part per API flush cost ClickHouse ~100 µs of CPU per request).
    consumer_overrides = {"fetch.min.bytes": 1 << 20, "fetch.wait.max.ms": 1000}

    def __init__(self, settings: Settings, projection: RecordProjection) -> None:
        super().__init__(settings, projection)
        self.records = projection
        self.progress = Unproven(projection.name, self.stats.offsets,
                                 settings.projector_idle_poll_ms / 1000,
                                 settings.kafka_bootstrap_servers, settings.database_url)

    def handle(self, conn: psycopg.Connection, messages: list[Message]) -> None:
        nexts: dict[tuple[str, int], int] = {}
        for msg in messages:
            nexts[(msg.topic() or "", msg.partition() or 0)] = (msg.offset() or 0) + 1
        with conn.transaction(), conn.cursor() as cur:
            self.records.write(cur, [msg.value() or b"" for msg in messages])
            for (topic, partition), nxt in nexts.items():
                cur.execute(self.upsert_offset, (self.projection.name, topic, partition, nxt))
        self._committed(nexts, len(messages))
