"""The projector runtime: a consumer-group runner that feeds projections exactly-once in effect.

Offsets live in PostgreSQL (``projection_partitions``) and are written in the same transaction
as a PostgreSQL projection's rows, so a redelivered batch changes nothing. Each partition also
records the relay position it has provably caught up to, which gives lag and read-your-writes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

import psycopg
from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    IsolationLevel,
    KafkaError,
    KafkaException,
    Message,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, OffsetSpec

from domain.envelope import Envelope, decode
from infra.kafka import consumer_config
from infra.relay import read_checkpoint
from infra.settings import Settings

log = logging.getLogger("chronicle.projector")


class Item(NamedTuple):
    position: int
    envelope: Envelope


class Projection(Protocol):
    """A read model fed by events; ``apply`` runs inside the checkpoint's transaction."""

    name: str
    aggregates: tuple[str, ...]

    def apply(self, cur: psycopg.Cursor, items: Sequence[Item]) -> None: ...


def position_of(msg: Message) -> int:
    for header in msg.headers() or []:
        if header[0] == "position" and header[1] is not None:
            return int(header[1])
    return 0


@dataclass
class RunnerStats:
    applied: int = 0
    batches: int = 0
    offsets: dict[tuple[str, int], int] = field(default_factory=dict)


class Runner:
    """Runs one projection in a consumer group named after it."""

    def __init__(self, settings: Settings, projection: Projection) -> None:
        self.settings = settings
        self.projection = projection
        self.topics = [settings.topic(a) for a in projection.aggregates]
        self.group = f"{settings.kafka_topic_prefix}.projector.{projection.name}"
        self.stats = RunnerStats()
        self.stopping = threading.Event()
        self._sample: tuple[int, dict[tuple[str, int], int]] | None = None
        self._last_sample = 0.0
        self._dirty = False
        self.admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap_servers})

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        with psycopg.connect(self.settings.database_url, autocommit=True) as conn:
            for tp in partitions:
                row = conn.execute(
                    "SELECT next_offset FROM projection_partitions "
                    "WHERE projection = %s AND topic = %s AND partition = %s",
                    (self.projection.name, tp.topic, tp.partition)).fetchone()
                tp.offset = int(row[0]) if row and row[0] >= 0 else OFFSET_BEGINNING
                self.stats.offsets[(tp.topic, tp.partition)] = max(int(row[0]), 0) if row else 0
        consumer.assign(partitions)
        self._sample = None

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        for tp in partitions:
            self.stats.offsets.pop((tp.topic, tp.partition), None)
        consumer.unassign()

    def handle(self, conn: psycopg.Connection, messages: list[Message]) -> None:
        """Apply one batch and move the offsets, in one transaction."""
        items: list[Item] = []
        nexts: dict[tuple[str, int], int] = {}
        for msg in messages:
            key = (msg.topic() or "", msg.partition() or 0)
            nexts[key] = (msg.offset() or 0) + 1
            items.append(Item(position_of(msg), decode(msg.value() or b"")))
        with conn.transaction(), conn.cursor() as cur:
            self.projection.apply(cur, items)
            for (topic, partition), nxt in nexts.items():
                cur.execute(
                    "INSERT INTO projection_partitions (projection, topic, partition, next_offset)"
                    " VALUES (%s, %s, %s, %s) ON CONFLICT (projection, topic, partition)"
                    " DO UPDATE SET next_offset = GREATEST(projection_partitions.next_offset,"
                    " EXCLUDED.next_offset), updated_at = now()",
                    (self.projection.name, topic, partition, nxt))
        self.stats.offsets.update(nexts)
        after_commit = getattr(self.projection, "after_commit", None)
        if after_commit is not None:
            after_commit(items)
        self.stats.applied += len(items)
        self._dirty = True
        self.stats.batches += 1

    def mark_caught_up(self, conn: psycopg.Connection, consumer: Consumer) -> None:
        """Record, per partition, the relay position this projection has provably applied.

        Sample the relay checkpoint R, then each partition's high watermark (which contains
        every event up to R). Once our next offset reaches that watermark, the partition
        holds nothing at or below R that we have not applied.
        """
        now = time.monotonic()
        # Sample soon after applying something, and now and then when idle (positions of
        # events this projection does not subscribe to also count as caught up).
        interval = 0.05 if self._dirty else 1.0
        if self._sample is None and now - self._last_sample > interval:
            self._dirty = False
            relay_position = read_checkpoint(conn)
            marks = self._high_watermarks()
            if marks is None:
                return
            self._sample, self._last_sample = (relay_position, marks), now
        if self._sample is None:
            return
        relay_position, marks = self._sample
        done = [k for k, high in marks.items() if self.stats.offsets.get(k, -1) >= high]
        for topic, partition in done:
            conn.execute(
                "INSERT INTO projection_partitions (projection, topic, partition, next_offset,"
                " caught_up_position) VALUES (%s, %s, %s, 0, %s)"
                " ON CONFLICT (projection, topic, partition) DO UPDATE SET caught_up_position ="
                " GREATEST(projection_partitions.caught_up_position, EXCLUDED.caught_up_position)",
                (self.projection.name, topic, partition, relay_position))
            del marks[(topic, partition)]
        if not marks:
            conn.execute("SELECT pg_notify('chronicle_projections', %s)", (self.projection.name,))
            self._sample = None

    def _high_watermarks(self) -> dict[tuple[str, int], int] | None:
        """Every assigned partition's end offset, in one ListOffsets request per broker.

        Asked through the admin client's own connection: on the consumer's, the request would
        queue behind the long-polling fetch (up to fetch.wait.max.ms for each partition).
        """
        keys = list(self.stats.offsets)
        if not keys:
            return {}
        futures = self.admin.list_offsets(
            {TopicPartition(*k): OffsetSpec.latest() for k in keys},
            isolation_level=IsolationLevel.READ_COMMITTED, request_timeout=5)
        try:
            return {(tp.topic, tp.partition): f.result().offset for tp, f in futures.items()}
        except KafkaException as exc:  # e.g. a leader moving: sample again later
            log.info("no end offsets for %s yet: %s", self.projection.name, exc)
            return None

    def run(self) -> None:
        consumer = Consumer(consumer_config(self.settings, self.group))
        consumer.subscribe(self.topics, on_assign=self._on_assign, on_revoke=self._on_revoke)
        try:
            with psycopg.connect(self.settings.database_url, autocommit=True) as conn:
                while not self.stopping.is_set():
                    messages = consumer.consume(self.settings.projector_batch_size, timeout=0.1)
                    good = [m for m in messages if self._usable(m)]
                    if good:
                        try:
                            self.handle(conn, good)
                        except Exception:
                            log.exception("projection %s failed a batch", self.projection.name)
                            self._rewind(consumer)
                            self.stopping.wait(1.0)
                            continue
                    self.mark_caught_up(conn, consumer)
        finally:
            consumer.close()

    def _rewind(self, consumer: Consumer) -> None:
        """Go back to the last committed offsets so the failed batch is retried."""
        for (topic, partition), offset in self.stats.offsets.items():
            consumer.seek(TopicPartition(topic, partition, offset))
        self._sample = None

    def _usable(self, msg: Message) -> bool:
        err = msg.error()
        if err is None:
            return True
        if err.code() != KafkaError._PARTITION_EOF:
            log.warning("consumer error on %s: %s", self.projection.name, err)
        return False

    def stop(self) -> None:
        self.stopping.set()
