"""The relay on the real store and broker: SIGKILL at any moment loses no event."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import psycopg

from domain.envelope import decode
from infra.eventstore import EventStore, datastore_from_url
from infra.relay import read_checkpoint, traceparent
from infra.settings import Settings
from tests.builders import append_history, deduplicated_versions, read_topic
from tests.conftest import spawn, wait_until


def test_a_relay_killed_mid_stream_loses_nothing_and_keeps_each_stream_in_order(
        isolated: Settings, tmp_path: Path) -> None:
    store = EventStore(datastore_from_url(isolated.database_url))
    expected = append_history(store, streams=200, renames=24)
    head = store.head()
    log = tmp_path / "relay.log"
    with psycopg.connect(isolated.database_url, autocommit=True) as conn:
        relay = spawn(isolated, "relay", log=log, RELAY_BATCH_SIZE="10",
                      RELAY_PORT="0")
        wait_until(lambda: read_checkpoint(conn) >= head // 3, timeout=60,
                   message=f"relay progress ({log.read_text()[-500:]})")
        os.killpg(relay.pid, signal.SIGKILL)
        relay.wait()
        killed_at = read_checkpoint(conn)
        assert 0 < killed_at < head, "the kill must land mid-stream"
        again = spawn(isolated, "relay", log=log, RELAY_PORT="0")
        try:
            wait_until(lambda: read_checkpoint(conn) == head, timeout=60, message="catch-up")
        finally:
            os.killpg(again.pid, signal.SIGTERM)
            again.wait(timeout=30)

    messages = read_topic(isolated.kafka_bootstrap_servers, isolated.topic("organization"),
                          isolated.kafka_partitions)
    assert len(messages) >= len(expected) * 25
    versions = deduplicated_versions(messages)
    assert set(versions) == {str(s) for s in expected}
    for stream, kept in versions.items():
        assert kept == list(range(1, 26)), f"stream {stream} has a gap or disorder: {kept}"
    store.close()


def test_every_message_carries_its_key_headers_and_the_stored_bytes(
        settings: Settings, store: EventStore, workers: object) -> None:
    expected = append_history(store, streams=3, renames=1)
    wait_until(lambda: workers.relay.stats.position >= store.head(),  # type: ignore[attr-defined]
               message="relay")
    messages = read_topic(settings.kafka_bootstrap_servers, settings.topic("organization"),
                          settings.kafka_partitions)
    ours = [m for m in messages if m[0].decode() in {str(s) for s in expected}]
    assert len(ours) == 6
    for key, value, headers in ours:
        envelope = decode(value)
        assert key.decode() == str(envelope.stream_id)
        assert headers["event-type"].decode() == envelope.event_type
        assert headers["organization-id"].decode() == str(envelope.organization_id)
        assert headers["event-id"].decode() == str(envelope.event_id)
        assert headers["traceparent"].decode() == traceparent(
            envelope.correlation_id, str(envelope.event_id))
