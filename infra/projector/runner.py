"""The projector runtime: a consumer-group runner that feeds projections exactly-once in effect.

Offsets live in PostgreSQL (``projection_partitions``) and are written in the same transaction
as a PostgreSQL projection's rows, so a redelivered batch changes nothing, and a consumer can be
thrown away and rebuilt at any time: the new one resumes from those offsets. Each partition also
records the relay position it has provably caught up to (``infra.projector.progress``), which gives
lag and read-your-writes. A batch that keeps failing is retried a bounded number of times, then
applied event by event so the one event that fails is parked (``infra.projector.deadletter``).
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import nullcontext
from dataclasses import dataclass, field

import psycopg
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Message, TopicPartition

from domain.envelope import decode
from infra import tracing
from infra.backoff import Backoff
from infra.kafka import consumer_config
from infra.projector import deadletter
from infra.projector.failures import Rebuild, is_transient
from infra.projector.progress import BUSY_INTERVAL_S, Progress
from infra.settings import Settings
from projections.base import Item, Projection

log = logging.getLogger("chronicle.projector")


def position_of(msg: Message) -> int:
    for header in msg.headers() or []:
        if header[0] == "position" and header[1] is not None:
            return int(header[1])
    return 0


UPSERT_OFFSET = (
    "INSERT INTO projection_partitions (projection, topic, partition, next_offset)"
    " VALUES (%s, %s, %s, %s) ON CONFLICT (projection, topic, partition)"
    " DO UPDATE SET next_offset = GREATEST(projection_partitions.next_offset,"
    " EXCLUDED.next_offset), updated_at = now()"
)
READ_OFFSET = ("SELECT next_offset FROM projection_partitions"
               " WHERE projection = %s AND topic = %s AND partition = %s")


@dataclass
class RunnerStats:
    applied: int = 0
    rebuilds: int = 0
    failures: int = 0
    last_error: str = ""
    # Set while there is no working consumer (building, joining, backing off), else None.
    rebuilding_since: float | None = field(default_factory=time.monotonic)
    offsets: dict[tuple[str, int], int] = field(default_factory=dict)


class Runner:
    """Runs one projection in a consumer group named after it, rebuilding its consumer at need."""

    # Where the offsets live (a runner of records keeps its own, infra/projector/records.py).
    read_offset, upsert_offset = READ_OFFSET, UPSERT_OFFSET
    consumer_overrides: dict[str, int] = {}

    def __init__(self, settings: Settings, projection: Projection) -> None:
        self.settings = settings
        self.projection = projection
        self.topics = [settings.topic(a) for a in projection.aggregates]
        self.group = f"{settings.kafka_topic_prefix}.projector.{projection.name}"
        self.stats = RunnerStats()
        self.stopping = threading.Event()
        self.progress = Progress(
            projection.name, self.stats.offsets, settings.projector_idle_poll_ms / 1000,
            settings.kafka_bootstrap_servers, settings.database_url)
        self._rebuild: str | None = None
        self._session_s = consumer_config(settings, self.group)["session.timeout.ms"] / 1000
        self._attempts = 0
        linger = getattr(projection, "linger_s", None)
        self._linger_s = self.settings.projector_linger_ms / 1000 if linger is None else linger
        self._retry = Backoff(settings.projector_retry_backoff_ms / 1000,
                              settings.projector_max_backoff_ms / 1000)

    def run(self) -> None:
        """Sessions until stopped: each owns one consumer and one connection."""
        rebuilds = Backoff(0.5, 30.0)
        while not self.stopping.is_set():
            started = time.monotonic()
            try:
                self._session()
            except Exception as exc:  # any failure ends the session, not the runner
                self.stats.last_error = deadletter.describe(exc)
                log.warning("projection %s: consumer session ended: %s",
                            self.projection.name, self.stats.last_error)
            if self.stopping.is_set():
                break
            self.stats.rebuilds += 1
            self.stats.rebuilding_since = self.stats.rebuilding_since or time.monotonic()
            if time.monotonic() - started > 120:
                rebuilds.reset()  # a long healthy session: the next rebuild starts fast
            self.stopping.wait(rebuilds.next())

    def _session(self) -> None:
        self._rebuild = None
        self.progress.assigned = False
        self.progress.forget()
        self.stats.offsets.clear()
        consumer = Consumer({**consumer_config(self.settings, self.group),
                             **self.consumer_overrides, "error_cb": self._on_error})
        built = time.monotonic()
        try:
            with psycopg.connect(self.settings.database_url, autocommit=True,
                                 connect_timeout=10) as conn:
                consumer.subscribe(self.topics, on_assign=self._on_assign,
                                   on_revoke=self._on_revoke, on_lost=self._on_lost)
                while not self.stopping.is_set():
                    self._step(conn, consumer)
                    if self._rebuild is None and not self.progress.assigned \
                            and time.monotonic() - built > self._join_limit():
                        self._rebuild = "no partitions assigned"
                    if self._rebuild is not None:
                        raise Rebuild(self._rebuild)
        finally:
            close(consumer)

    def _join_limit(self) -> float:
        return max(30.0, self.settings.projector_stall_seconds)

    def _step(self, conn: psycopg.Connection, consumer: Consumer) -> None:
        timeout = (BUSY_INTERVAL_S if self.progress.busy
                   else self.settings.projector_idle_poll_ms / 1000)
        before = time.monotonic()
        # poll returns at the first message; consume(timeout) would wait out the whole timeout
        # for a full batch, holding a lone event (and the read waiting for it) that long.
        first = consumer.poll(timeout)
        messages = [] if first is None else [first, *consumer.consume(
            self.settings.projector_batch_size - 1,
            timeout=self._linger_s)]
        # Blocked far longer than asked: the process was paused (SIGSTOP, a VM stall), so its
        # group session has expired and the fetched state is stale. Start over cleanly.
        if time.monotonic() - before > timeout + self._session_s:
            self._rebuild = "the process was paused longer than the group session"
            return
        good = [m for m in messages if self._usable(m)]
        if good:
            self._apply(conn, consumer, good)
        self.progress.mark(conn)

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        with psycopg.connect(self.settings.database_url, autocommit=True,
                             connect_timeout=10) as conn:
            for tp in partitions:
                row = conn.execute(self.read_offset,
                                   (self.projection.name, tp.topic, tp.partition)).fetchone()
                tp.offset = int(row[0]) if row and row[0] >= 0 else OFFSET_BEGINNING
                self.stats.offsets[(tp.topic, tp.partition)] = max(int(row[0]), 0) if row else 0
        consumer.assign(partitions)
        self.progress.forget()
        self.progress.assigned = True
        self.stats.rebuilding_since = None

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        for tp in partitions:
            self.stats.offsets.pop((tp.topic, tp.partition), None)
        consumer.unassign()
        self.progress.forget()
        self.progress.assigned = False

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._on_revoke(consumer, partitions)
        self._rebuild = "the group assignment was lost"

    def _on_error(self, err: KafkaError) -> None:
        if err.fatal():
            self._rebuild = f"fatal consumer error: {err}"
        elif err.code() == KafkaError._ALL_BROKERS_DOWN:
            self._rebuild = f"all brokers down: {err}"
        self.stats.last_error = str(err)

    def handle(self, conn: psycopg.Connection, messages: list[Message]) -> None:
        """Apply one batch and move the offsets, in one transaction."""
        items: list[Item] = []
        nexts: dict[tuple[str, int], int] = {}
        for msg in messages:
            key = (msg.topic() or "", msg.partition() or 0)
            nexts[key] = (msg.offset() or 0) + 1
            items.append(Item(position_of(msg), decode(msg.value() or b"")))
        # Traced events get a consumer span each (the child of their producer's), until commit.
        with tracing.consuming(self.group, messages), conn.transaction(), \
                conn.pipeline() if getattr(self.projection, "pipelined", False) else nullcontext(), \
                conn.cursor() as cur:
            self.projection.apply(cur, items)
            for (topic, partition), nxt in nexts.items():
                cur.execute(self.upsert_offset, (self.projection.name, topic, partition, nxt))
        self._committed(nexts, len(items), max(i.position for i in items))
        self._after_commit(items)

    def _committed(self, nexts: dict[tuple[str, int], int], applied: int,
                   position: int = 0) -> None:
        self.stats.offsets.update(nexts)
        self.stats.applied += applied
        self.progress.applied(position)

    def _after_commit(self, items: list[Item]) -> None:
        try:
            self.projection.after_commit(items)
        except Exception:  # announcements are best effort; the rows are committed
            log.exception("projection %s: after-commit announcement failed", self.projection.name)

    def _apply(self, conn: psycopg.Connection, consumer: Consumer, batch: list[Message]) -> None:
        """Apply a batch; on failure rewind and back off, and past the bound, go event by event."""
        isolate = self._attempts > self.settings.projector_max_retries
        try:
            if isolate:
                self._one_by_one(conn, batch)
            else:
                self.handle(conn, batch)
            self._attempts = 0
            return
        except Exception as exc:  # classified below, never swallowed silently
            if conn.broken:
                raise
            self._failed(exc)
        self._rewind(consumer)
        self.stopping.wait(self._retry.delay(self._attempts))

    def _failed(self, exc: Exception) -> None:
        self._attempts += 1
        self.stats.failures += 1
        error = deadletter.describe(exc)
        if error != self.stats.last_error:
            log.warning("projection %s failed a batch (attempt %d): %s",
                        self.projection.name, self._attempts, error)
        self.stats.last_error = error
        if is_transient(exc):
            # An outage of a dependency is not a bad event: never park because of it.
            self._attempts = min(self._attempts, self.settings.projector_max_retries)

    def _one_by_one(self, conn: psycopg.Connection, batch: list[Message]) -> None:
        """Apply each event in its own transaction; park the ones that fail on their own."""
        for msg in batch:
            try:
                self.handle(conn, [msg])
            except Exception as exc:
                if conn.broken or is_transient(exc):
                    raise
                self._park(conn, msg, exc)

    def _park(self, conn: psycopg.Connection, msg: Message, exc: Exception) -> None:
        key = (msg.topic() or "", msg.partition() or 0)
        nxt = (msg.offset() or 0) + 1
        with conn.transaction(), conn.cursor() as cur:
            deadletter.park(cur, self.projection.name, msg, exc, self._attempts)
            cur.execute(self.upsert_offset, (self.projection.name, *key, nxt))
        self._committed({key: nxt}, 0)
        log.error("projection %s parked the event at %s[%d]@%d (position %d): %s",
                  self.projection.name, key[0], key[1], nxt - 1, position_of(msg),
                  deadletter.describe(exc))

    def _rewind(self, consumer: Consumer) -> None:
        """Go back to the last committed offsets so the failed batch is retried."""
        for (topic, partition), offset in self.stats.offsets.items():
            consumer.seek(TopicPartition(topic, partition, offset))
        self.progress.forget()

    def _usable(self, msg: Message) -> bool:
        err = msg.error()
        if err is None:
            return True
        if err.fatal() or err.code() == KafkaError._MAX_POLL_EXCEEDED:
            self._rebuild = f"consumer error: {err}"
        if err.code() != KafkaError._PARTITION_EOF:
            log.warning("consumer error on %s: %s", self.projection.name, err)
        return False

    def stop(self) -> None:
        self.stopping.set()


def close(consumer: Consumer) -> None:
    """Close a consumer, waiting a bounded time: a dead broker must not hang the rebuild."""
    closer = threading.Thread(target=consumer.close, name="consumer-close", daemon=True)
    closer.start()
    closer.join(timeout=10)
    if closer.is_alive():
        log.warning("a consumer did not close within 10 s; abandoning it")
