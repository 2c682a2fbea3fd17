"""The relay: tails the store's notification log and publishes every event to Kafka, in order.

The committed notification log is the outbox. The checkpoint moves only after Kafka
acknowledged every event of a batch, so delivery is at-least-once and nothing is lost when
the relay is killed; consumers absorb duplicates by (stream id, version).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import dataclass, field

import psycopg
from confluent_kafka import KafkaError, KafkaException, Message, Producer
from opentelemetry.trace import SpanKind

from infra import tracing
from infra.backoff import Backoff
from infra.eventstore import EVENTS_TABLE, EventStore, Recorded
from infra.health import Figures
from infra.kafka import producer_config
from infra.livefeed import Announcer
from infra.settings import Settings

log = logging.getLogger("chronicle.relay")

RELAY_NAME = "kafka"


def traceparent(correlation_id: str, event_id: str) -> str:
    """The header of an event made outside any trace: valid W3C, one trace id per correlation
    id, and flagged not sampled, so a consumer that traces starts no trace of its own from it."""
    trace = hashlib.sha256(correlation_id.encode()).hexdigest()[:32]
    return f"00-{trace}-{event_id.replace('-', '')[:16]}-00"


def headers(record: Recorded, spans: tracing.Spans = tracing.NO_SPANS,
            topic: str = "") -> list[tuple[str, str | bytes | None]]:
    """The record's Kafka headers; its traceparent is its producer span's (when the relay
    traces and the event carries a trace), else the event's own, else one made up."""
    e = record.envelope
    carried = e.traceparent or None
    sent = spans.start(f"send {topic}", SpanKind.PRODUCER, carried, {
        "messaging.system": "kafka", "messaging.operation.type": "send",
        "messaging.destination.name": topic,
        "messaging.kafka.message.key": str(e.stream_id),
    }) if carried and spans is not tracing.NO_SPANS else ""
    return [
        ("event-type", e.event_type.encode()),
        ("organization-id", str(e.organization_id).encode()),
        ("event-id", str(e.event_id).encode()),
        ("stream-version", str(e.version).encode()),
        ("position", str(record.position).encode()),
        ("traceparent", (sent or carried or traceparent(e.correlation_id, str(e.event_id)))
         .encode()),
    ]


def read_checkpoint(conn: psycopg.Connection, name: str = RELAY_NAME) -> int:
    row = conn.execute("SELECT position FROM relay_checkpoint WHERE name = %s", (name,)).fetchone()
    return int(row[0]) if row else 0


def write_checkpoint(conn: psycopg.Connection, position: int, name: str = RELAY_NAME) -> None:
    conn.execute(
        "INSERT INTO relay_checkpoint (name, position) VALUES (%s, %s) "
        "ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position, updated_at = now()",
        (name, position))


@dataclass
class RelayStats:
    position: int = 0
    published: int = 0
    failures: int = 0
    last_error: str = ""
    # The first position of the batch that keeps failing (0 while the relay moves).
    stuck_at: int = 0
    started: float = field(default_factory=time.monotonic)
    # When the relay last showed it keeps up: published a batch or found nothing to publish.
    keeping_up_at: float = field(default_factory=time.monotonic)


class Relay:
    """Publishes in store order; a batch Kafka does not take is retried, never skipped."""

    def __init__(self, settings: Settings, store: EventStore) -> None:
        self.settings = settings
        self.store = store
        self.stats = RelayStats()
        self.stopping = threading.Event()
        self.producer = Producer(producer_config(settings))
        self.announce = Announcer(settings)  # the live streams' feed (infra/livefeed.py)
        self._backoff = Backoff(0.25, settings.relay_max_backoff_ms / 1000)
        self._reported = ("", 0)
        self._narrow_until = 0

    def publish(self, batch: list[Recorded]) -> str | None:
        """Send a batch and wait for every acknowledgement; the first error, or None."""
        errors: list[KafkaError] = []
        spans = tracing.batch()  # a producer span per traced event, ended once all are acked

        def delivered(err: KafkaError | None, _msg: Message) -> None:
            if err is not None:
                errors.append(err)

        try:
            for record in batch:
                e = record.envelope
                topic = self.settings.topic(e.stream_type)
                self.producer.produce(
                    topic, key=str(e.stream_id).encode(), value=record.data,
                    headers=headers(record, spans, topic), on_delivery=delivered)
                self.producer.poll(0)
        except (KafkaException, BufferError) as exc:
            # Refused before sending (too large for the producer, a full queue): same as a nack.
            errors.append(exc.args[0] if exc.args and isinstance(exc.args[0], KafkaError)
                          else KafkaError(KafkaError._FAIL, str(exc)))
        remaining = self.producer.flush(self.settings.kafka_delivery_timeout_ms / 1000 + 5)
        error = str(errors[0]) if errors else (f"{remaining} undelivered" if remaining else None)
        spans.end(error)
        return error

    def step(self, conn: psycopg.Connection) -> int:
        """Publish one batch after the checkpoint; returns how many were published, -1 on failure."""
        # After a failed batch, go one event at a time until past it: the stuck position is
        # then exact, and the events after it are not sent again on every retry.
        narrow = self.stats.position < self._narrow_until
        batch = self.store.tail(self.stats.position, 1 if narrow else self.settings.relay_batch_size)
        if not batch:
            self._moving()
            return 0
        error = self.publish(batch)
        if error is not None:
            self._narrow_until = max(self._narrow_until, batch[-1].position)
            self._stuck(batch[0].position, error)
            self._reset_producer()
            return -1
        write_checkpoint(conn, batch[-1].position)
        self.announce(self.stats.position, batch)
        self.stats.position = batch[-1].position
        self.stats.published += len(batch)
        self._moving()
        return len(batch)

    def _stuck(self, position: int, error: str) -> None:
        self.stats.failures += 1
        self.stats.stuck_at, self.stats.last_error = position, error
        if (error, position) != self._reported:
            # Loud once per change, not once per retry.
            log.error("relay stuck at position %d: %s (retrying with backoff, in order)",
                      position, error)
            self._reported = (error, position)

    def _moving(self) -> None:
        if self.stats.stuck_at:
            log.warning("relay moving again after position %d", self.stats.stuck_at)
        self.stats.stuck_at, self.stats.last_error = 0, ""
        self.stats.keeping_up_at = time.monotonic()
        self._reported = ("", 0)
        self._backoff.reset()

    def _reset_producer(self) -> None:
        # Resend from the checkpoint with a fresh producer: order is kept, duplicates absorbed.
        self.producer.purge()
        self.producer.flush(0)
        self.producer = Producer(producer_config(self.settings))

    def run(self) -> None:
        """Sessions until stopped; nothing that Kafka or PostgreSQL does ends the relay."""
        while not self.stopping.is_set():
            try:
                self._session()
            except Exception as exc:  # an outage is retried, never a crash loop
                self._stuck(self.stats.position + 1, f"{type(exc).__name__}: {exc}")
                self.stopping.wait(self._backoff.next())
        self.producer.flush(10)
        self.announce.close()

    def _session(self) -> None:
        with psycopg.connect(self.settings.database_url, autocommit=True,
                             connect_timeout=10) as conn, \
                psycopg.connect(self.settings.database_url, autocommit=True,
                                connect_timeout=10) as listener:
            listener.execute(f'LISTEN "{self.store.channel}"')
            self.stats.position = read_checkpoint(conn)
            log.info("relay starting after position %d", self.stats.position)
            while not self.stopping.is_set():
                published = self.step(conn)
                if published < 0:
                    self.stopping.wait(self._backoff.next())
                    continue
                # Behind: ids are drawn whose transactions are still open. The read itself
                # waited (bounded, backing off) for them, so looping again is not a spin.
                if published >= self.settings.relay_batch_size or self.store.behind():
                    continue
                timeout = self.settings.relay_poll_interval_ms / 1000
                for _ in listener.notifies(timeout=timeout, stop_after=1):
                    # Woken by a commit: let the commits right behind it join the batch. Each
                    # batch costs a flush, a checkpoint, an announcement and a fetch by every
                    # consumer of its topics, so under load fewer, fuller batches are cheaper.
                    self.stopping.wait(self.settings.relay_linger_ms / 1000)

    def stop(self) -> None:
        self.stopping.set()


def read_head(conn: psycopg.Connection) -> dict[str, object]:
    row = conn.execute(f"SELECT max(notification_id) FROM {EVENTS_TABLE}").fetchone()
    return {"head": int(row[0]) if row and row[0] is not None else 0}


class RelayHealth:
    """503 while the store head is ahead and nothing was published for ``relay_stall_seconds``."""

    def __init__(self, settings: Settings, relay: Relay) -> None:
        self.stall_s = settings.relay_stall_seconds
        self.stats = relay.stats
        self.figures = Figures(settings.database_url, read_head)

    def report(self) -> dict[str, object]:
        figures = self.figures.get()
        s = self.stats
        head = int(str(figures.get("head", 0)))
        idle = time.monotonic() - s.keeping_up_at
        stalled = "error" in figures or (head > s.position and idle > self.stall_s)
        report: dict[str, object] = {
            "status": "unhealthy" if stalled else "healthy", "position": s.position,
            "head": head, "lag": max(head - s.position, 0), "lastError": s.last_error}
        if s.stuck_at:
            report["stuckAt"] = s.stuck_at
        if stalled:
            report["problem"] = figures.get("error") or (
                f"nothing published for {idle:.0f} s with the store {head - s.position} ahead")
        return report

    def metrics(self) -> dict[str, float]:
        head = int(str(self.figures.get().get("head", self.stats.position)))
        return {"relay_position": self.stats.position, "relay_head": head,
                "relay_lag": max(head - self.stats.position, 0),
                "relay_stuck_at": self.stats.stuck_at,
                "relay_published_total": self.stats.published,
                "relay_failures_total": self.stats.failures}
