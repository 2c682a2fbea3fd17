"""With the broker down, commands are still accepted; the relay catches up when it returns."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from pathlib import Path

import msgspec

from infra.eventstore import EventStore, datastore_from_url
from infra.kafka import create_topics
from infra.relay import Relay
from infra.settings import Settings
from tests.builders import append_history, deduplicated_versions, read_topic
from tests.conftest import free_port, wait_until

NOIDA = str(Path(sys.executable).parent / "noida-db")



def broker(action: str, data: Path, port: int) -> None:
    args = [NOIDA, action, "--data-dir", str(data)]
    if action == "up":
        args += ["--only", "kafka", "--kafka-port", str(port)]
    subprocess.run(args, check=True, capture_output=True, timeout=60)


def accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
    except OSError:
        return False
    return True


def test_commands_are_accepted_while_kafka_is_down_and_the_relay_catches_up(
        isolated: Settings, tmp_path: Path) -> None:
    port = free_port()
    data = tmp_path / "kafka"
    own = msgspec.structs.replace(isolated, kafka_bootstrap_servers=f"127.0.0.1:{port}",
                                  kafka_delivery_timeout_ms=2000)
    broker("up", data, port)
    store = EventStore(datastore_from_url(own.database_url))
    relay = Relay(own, store)
    thread = threading.Thread(target=relay.run, daemon=True)
    try:
        wait_until(lambda: accepts(port), message="private broker")
        create_topics(own)
        thread.start()
        before = append_history(store, streams=5, renames=2)
        wait_until(lambda: relay.stats.position == store.head(), message="first batch")
        broker("down", data, port)
        wait_until(lambda: not accepts(port), message="broker down")
        during = append_history(store, streams=5, renames=2)
        wait_until(lambda: relay.stats.failures > 0, timeout=30, message="relay notices")
        assert relay.stats.position < store.head()
        broker("up", data, port)
        wait_until(lambda: relay.stats.position == store.head(), timeout=60, message="catch-up")
        messages = read_topic(own.kafka_bootstrap_servers, own.topic("organization"),
                              own.kafka_partitions)
    finally:
        relay.stop()
        thread.join(timeout=30)
        broker("down", data, port)
        store.close()
    versions = deduplicated_versions(messages)
    assert versions == {str(s): [1, 2, 3] for s in {**before, **during}}
