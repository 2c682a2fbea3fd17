"""Kafka adapter: client configuration, topic names and the migration that creates topics."""

from __future__ import annotations

import logging
import time
from typing import Any

from confluent_kafka import KafkaException
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewTopic,
    ResourceType,
)

from domain.deciders import AGGREGATES
from infra.settings import Settings

# librdkafka's own lines (a broker refusing connections, a rebalance) through logging, so they
# are JSON like every other line; a client serves them from its poll().
LOG = logging.getLogger("chronicle.kafka")


def producer_config(settings: Settings) -> dict[str, Any]:
    return {
        "bootstrap.servers": settings.kafka_bootstrap_servers,
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 2,
        "compression.type": "lz4",
        "message.timeout.ms": settings.kafka_delivery_timeout_ms,
        # The same bound as the topics': any event the writers let through (MAX_EVENT_BYTES,
        # checked before append) fits, with room for the key and headers.
        "message.max.bytes": settings.kafka_max_message_bytes,
        "logger": LOG,
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
        # A fetch returns as soon as a partition has data, so the wait only bounds how often an
        # idle consumer asks again: each projection has its own, and at librdkafka's 500 ms
        # their long polls were most of an idle broker's CPU.
        "fetch.wait.max.ms": 2000,
        "logger": LOG,
    }


def event_topics(settings: Settings) -> list[str]:
    return [settings.topic(a) for a in AGGREGATES]


def create_topics(settings: Settings) -> list[str]:
    """Create the event topics (infinite retention) and the request-log topic; idempotent.

    ``max.message.bytes`` is set explicitly, on topics that already exist too, rather than
    left to the broker's default: the settings refuse a MAX_EVENT_BYTES that comes within
    EVENT_HEADROOM of it (infra/settings.py).
    """
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap_servers})
    existing = set(admin.list_topics(timeout=10).topics)
    size = {"max.message.bytes": str(settings.kafka_max_message_bytes)}
    wanted = [
        NewTopic(t, num_partitions=settings.kafka_partitions, replication_factor=1,
                 config={"retention.ms": "-1", "cleanup.policy": "delete", **size})
        for t in event_topics(settings)
    ]
    wanted.append(NewTopic(settings.api_requests_topic, num_partitions=settings.kafka_partitions,
                           replication_factor=1,
                           config={"retention.ms": str(7 * 86400_000), **size}))
    missing = [t for t in wanted if t.topic not in existing]
    _set_message_bytes(admin, [t.topic for t in wanted if t.topic in existing], settings)
    if missing:
        for topic, future in admin.create_topics(missing, operation_timeout=10).items():
            try:
                future.result()
            except KafkaException as exc:
                if "TOPIC_ALREADY_EXISTS" not in str(exc):
                    raise RuntimeError(f"cannot create topic {topic}: {exc}") from exc
    wait_for_leaders(settings, [t.topic for t in wanted])
    return [t.topic for t in missing]


def _set_message_bytes(admin: AdminClient, topics: list[str], settings: Settings) -> None:
    """Topics made before the setting existed get it too (an incremental change: their other
    settings stay as they are)."""
    if not topics:
        return
    entry = ConfigEntry("max.message.bytes", str(settings.kafka_max_message_bytes),
                        incremental_operation=AlterConfigOpType.SET)
    resources = [ConfigResource(ResourceType.TOPIC, t, incremental_configs=[entry])
                 for t in topics]
    for resource, future in admin.incremental_alter_configs(resources).items():
        try:
            future.result(timeout=10)
        except KafkaException as exc:
            raise RuntimeError(f"cannot set max.message.bytes on {resource.name}: {exc}") from exc


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


def delete_topics(settings: Settings) -> list[str]:
    """Delete every topic under ``settings.kafka_topic_prefix`` (test and bench runs clean up;
    each partition left behind costs the broker memory and idle CPU)."""
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap_servers})
    mine = [t for t in admin.list_topics(timeout=10).topics
            if t.startswith(f"{settings.kafka_topic_prefix}.")]
    if mine:
        for future in admin.delete_topics(mine, operation_timeout=30).values():
            future.result()
    return mine
