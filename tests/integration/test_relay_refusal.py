"""A relay that meets an event the broker refuses: it waits loudly, in order, and never exits."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
import psycopg
from confluent_kafka import Producer
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ResourceType,
)

from infra.eventstore import EventStore, datastore_from_url
from infra.relay import read_checkpoint
from infra.settings import Settings
from tests.builders import append_history, deduplicated_versions, read_topic
from tests.conftest import free_port, spawn, wait_until

PROBE = b"probe"


def set_max_message_bytes(settings: Settings, topic: str, limit: int) -> None:
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap_servers})
    resource = ConfigResource(ResourceType.TOPIC, topic, incremental_configs=[
        ConfigEntry("max.message.bytes", str(limit),
                    incremental_operation=AlterConfigOpType.SET)])
    for future in admin.incremental_alter_configs([resource]).values():
        future.result(timeout=30)


def wait_until_refused(settings: Settings, topic: str) -> None:
    """Until the broker applies the new limit, the relay could still get through: probe it.

    A probe the broker takes lands in the topic under the key ``probe`` (dropped when read).
    """
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap_servers})
    refusals: list[str] = []

    def refused() -> bool:
        producer.produce(topic, key=PROBE, value=b"x" * 200, on_delivery=lambda err, _m: (
            refusals.append(str(err)) if err is not None else None))
        producer.flush(10)
        return any("MSG_SIZE_TOO_LARGE" in r for r in refusals)

    wait_until(refused, timeout=30, interval=0.2, message="the broker applies the limit")


def health(port: int) -> tuple[int, dict[str, object]]:
    response = httpx.get(f"http://127.0.0.1:{port}/health", timeout=5)
    return response.status_code, response.json()


def test_a_refused_event_makes_the_relay_unhealthy_not_dead_and_it_goes_on_once_allowed(
        isolated: Settings, tmp_path: Path) -> None:
    store = EventStore(datastore_from_url(isolated.database_url))
    topic = isolated.topic("organization")
    before = append_history(store, streams=2, renames=1)
    log, port = tmp_path / "relay.log", free_port()
    relay = spawn(isolated, "relay", log=log, RELAY_PORT=str(port), RELAY_STALL_SECONDS="2",
                  RELAY_MAX_BACKOFF_MS="1000", LOG_LEVEL="info")
    try:
        with psycopg.connect(isolated.database_url, autocommit=True) as conn:
            wait_until(lambda: read_checkpoint(conn) == store.head(), timeout=60,
                       message=f"the first events published ({log.read_text()[-800:]})")
            published = read_checkpoint(conn)
            set_max_message_bytes(isolated, topic, 64)  # below any event's record batch
            wait_until_refused(isolated, topic)
            refused = append_history(store, streams=2, renames=1)
            wait_until(lambda: health(port)[0] == 503, timeout=30,
                       message=f"relay health 503 ({log.read_text()[-800:]})")
            _, body = health(port)
            assert body["position"] == published
            assert body["stuckAt"] == published + 1
            assert "MSG_SIZE_TOO_LARGE" in str(body["lastError"]), body
            time.sleep(3)
            assert relay.poll() is None, "the relay must not exit on a refusal"
            assert read_checkpoint(conn) == published, "nothing after the refused event passes"
            set_max_message_bytes(isolated, topic, 1_048_588)
            wait_until(lambda: read_checkpoint(conn) == store.head(), timeout=60,
                       message=f"the relay goes on ({log.read_text()[-800:]})")
            wait_until(lambda: health(port)[0] == 200, message="relay health back to 200")
    finally:
        os.killpg(relay.pid, signal.SIGTERM)
        relay.wait(timeout=30)
    assert log.read_text().count("relay stuck at position") == 1, "loud once, not per retry"
    messages = [m for m in read_topic(isolated.kafka_bootstrap_servers, topic,
                                      isolated.kafka_partitions) if m[0] != PROBE]
    assert deduplicated_versions(messages) == {str(s): [1, 2] for s in {**before, **refused}}
    store.close()
