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
from confluent_kafka import KafkaError, Message, Producer

from infra.eventstore import EventStore, Recorded
from infra.kafka import producer_config
from infra.settings import Settings

log = logging.getLogger("chronicle.relay")

RELAY_NAME = "kafka"


def traceparent(correlation_id: str, event_id: str) -> str:
    """A W3C traceparent: one trace per correlation id, one span per event."""
    trace = hashlib.sha256(correlation_id.encode()).hexdigest()[:32]
    return f"00-{trace}-{event_id.replace('-', '')[:16]}-01"


def headers(record: Recorded) -> list[tuple[str, str | bytes | None]]:
    e = record.envelope
    return [
        ("event-type", e.event_type.encode()),
        ("organization-id", str(e.organization_id).encode()),
        ("event-id", str(e.event_id).encode()),
        ("stream-version", str(e.version).encode()),
        ("position", str(record.position).encode()),
        ("traceparent", traceparent(e.correlation_id, str(e.event_id)).encode()),
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
    started: float = field(default_factory=time.monotonic)


class Relay:
    def __init__(self, settings: Settings, store: EventStore) -> None:
        self.settings = settings
        self.store = store
        self.stats = RelayStats()
        self.stopping = threading.Event()
        self.producer = Producer(producer_config(settings))

    def publish(self, batch: list[Recorded]) -> bool:
        """Send a batch and wait for every acknowledgement; False if any was not delivered."""
        errors: list[KafkaError] = []

        def delivered(err: KafkaError | None, _msg: Message) -> None:
            if err is not None:
                errors.append(err)

        for record in batch:
            e = record.envelope
            self.producer.produce(
                self.settings.topic(e.stream_type), key=str(e.stream_id).encode(),
                value=record.data, headers=headers(record), on_delivery=delivered)
            self.producer.poll(0)
        remaining = self.producer.flush(self.settings.kafka_delivery_timeout_ms / 1000 + 5)
        if errors or remaining:
            self.stats.failures += 1
            self.stats.last_error = str(errors[0]) if errors else f"{remaining} undelivered"
            return False
        return True

    def step(self, conn: psycopg.Connection) -> int:
        """Publish one batch after the checkpoint; returns how many events were published."""
        batch = self.store.tail(self.stats.position, self.settings.relay_batch_size)
        if not batch:
            return 0
        if not self.publish(batch):
            log.warning("kafka did not acknowledge a batch: %s", self.stats.last_error)
            self._reset_producer()
            return 0
        write_checkpoint(conn, batch[-1].position)
        self.stats.position = batch[-1].position
        self.stats.published += len(batch)
        self.stats.last_error = ""
        return len(batch)

    def _reset_producer(self) -> None:
        # Resend from the checkpoint with a fresh producer: order is kept, duplicates absorbed.
        self.producer.flush(0)
        self.producer = Producer(producer_config(self.settings))
        self.stopping.wait(1.0)

    def run(self) -> None:
        with psycopg.connect(self.settings.database_url, autocommit=True) as conn, \
                psycopg.connect(self.settings.database_url, autocommit=True) as listener:
            listener.execute(f'LISTEN "{self.store.channel}"')
            self.stats.position = read_checkpoint(conn)
            log.info("relay starting after position %d", self.stats.position)
            while not self.stopping.is_set():
                # Behind: ids are drawn whose transactions are still open. The read itself
                # waited (bounded, backing off) for them, so looping again is not a spin.
                if self.step(conn) >= self.settings.relay_batch_size or self.store.behind():
                    continue
                timeout = self.settings.relay_poll_interval_ms / 1000
                for _ in listener.notifies(timeout=timeout, stop_after=1):
                    pass
            self.producer.flush(10)

    def stop(self) -> None:
        self.stopping.set()
