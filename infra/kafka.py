"""Kafka adapter: client configuration, topic names and the migration that creates topics."""

from __future__ import annotations

import time
from typing import Any

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from infra.settings import Settings

AGGREGATES = ("organization", "slug", "apikey", "access", "user", "role", "claim", "roster",
              "oauthclient")


def producer_config(settings: Settings) -> dict[str, Any]:
    return {
        "bootstrap.servers": settings.kafka_bootstrap_servers,
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 2,
        "compression.type": "lz4",
        "message.timeout.ms": settings.kafka_delivery_timeout_ms,
    }


def consumer_config(settings: Settings, group: str) -> dict[str, Any]:
    return {
        "bootstrap.servers": settings.kafka_bootstrap_servers,
        "group.id": group,
        # No static membership (KIP-345): a static member paused past its session is fenced
        # with a fatal error when it wakes. A dynamic member just rejoins, and the runner
        # rebuilds its consumer anyway; the instance name only labels the client.
        "client.id": f"{group}.{settings.projector_instance}",
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "isolation.level": "read_committed",
        # A killed member must leave the group quickly so its partitions are reassigned.
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 1000,
        "max.poll.interval.ms": 30000,
    }


def event_topics(settings: Settings) -> list[str]:
    return [settings.topic(a) for a in AGGREGATES]


def create_topics(settings: Settings) -> list[str]:
    """Create the event topics (infinite retention) and the request-log topic; idempotent."""
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap_servers})
    existing = set(admin.list_topics(timeout=10).topics)
    wanted = [
        NewTopic(t, num_partitions=settings.kafka_partitions, replication_factor=1,
                 config={"retention.ms": "-1", "cleanup.policy": "delete"})
        for t in event_topics(settings)
    ]
    wanted.append(NewTopic(settings.api_requests_topic, num_partitions=settings.kafka_partitions,
                           replication_factor=1, config={"retention.ms": str(7 * 86400_000)}))
    missing = [t for t in wanted if t.topic not in existing]
    if missing:
        for topic, future in admin.create_topics(missing, operation_timeout=10).items():
            try:
                future.result()
            except KafkaException as exc:
                if "TOPIC_ALREADY_EXISTS" not in str(exc):
                    raise RuntimeError(f"cannot create topic {topic}: {exc}") from exc
    wait_for_leaders(settings, [t.topic for t in wanted])
    return [t.topic for t in missing]


def wait_for_leaders(settings: Settings, topics: list[str], timeout_s: float = 60) -> None:
    """Return once every partition of ``topics`` answers an offset request.

    A new topic's partitions get their leader a moment after CreateTopics answers (and after
    the metadata names it); until then offset and watermark requests fail with
    NOT_LEADER_FOR_PARTITION, which consumers would meet first.
    """
    from confluent_kafka import Consumer, TopicPartition

    probe = Consumer({"bootstrap.servers": settings.kafka_bootstrap_servers,
                      "group.id": "chronicle-migrate-probe"})
    pending = [TopicPartition(t, p) for t in topics for p in range(settings.kafka_partitions)]
    deadline = time.monotonic() + timeout_s
    try:
        while pending:
            waiting = []
            for tp in pending:
                try:
                    probe.get_watermark_offsets(tp, timeout=5, cached=False)
                except KafkaException:
                    waiting.append(tp)
            pending = waiting
            if pending and time.monotonic() > deadline:
                raise RuntimeError(f"{len(pending)} partitions without a leader after "
                                   f"{timeout_s:.0f} s, e.g. {pending[0].topic}")
            if pending:
                time.sleep(0.2)
    finally:
        probe.close()
