"""With the broker down, commands are still accepted; the relay catches up when it returns."""

from __future__ import annotations

import threading
from pathlib import Path

from infra.eventstore import EventStore, datastore_from_url
from infra.kafka import create_topics
from infra.relay import Relay
from infra.settings import Settings
from tests.builders import append_history, deduplicated_versions, read_topic
from tests.conftest import on_private_broker, wait_until


def test_commands_are_accepted_while_kafka_is_down_and_the_relay_catches_up(
        isolated: Settings, tmp_path: Path) -> None:
    broker, own = on_private_broker(isolated, tmp_path)
    store = EventStore(datastore_from_url(own.database_url))
    relay = Relay(own, store)
    thread = threading.Thread(target=relay.run, daemon=True)
    try:
        create_topics(own)
        thread.start()
        before = append_history(store, streams=5, renames=2)
        wait_until(lambda: relay.stats.position == store.head(), message="first batch")
        broker.stop()
        during = append_history(store, streams=5, renames=2)
        wait_until(lambda: relay.stats.failures > 0, timeout=30, message="relay notices")
        assert relay.stats.position < store.head()
        broker.wait_ready(process=broker.start())
        wait_until(lambda: relay.stats.position == store.head(), timeout=60, message="catch-up")
        messages = read_topic(own.kafka_bootstrap_servers, own.topic("organization"),
                              own.kafka_partitions)
    finally:
        relay.stop()
        thread.join(timeout=30)
        broker.kill()
        store.close()
    versions = deduplicated_versions(messages)
    assert versions == {str(s): [1, 2, 3] for s in {**before, **during}}
