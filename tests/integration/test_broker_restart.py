"""A broker restarted while events flow: relay and projector converge, nothing lost or doubled."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg

from domain.organization.decider import Organization
from infra.eventstore import EventStore, datastore_from_url
from infra.kafka import create_topics
from infra.relay import Relay
from infra.settings import Settings
from projections.status import caught_up
from tests.builders import append_history, deduplicated_versions, read_topic
from tests.conftest import on_private_broker, spawn, wait_until
from tests.integration.test_projector import consumed, rows


class Writer:
    """Appends small organization histories until stopped, like a steady stream of commands."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.expected: dict[UUID, Organization] = {}
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stopping.wait(0.1):
            self.expected.update(append_history(self.store, streams=2, renames=2))

    def __enter__(self) -> Writer:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stopping.set()
        self.thread.join(timeout=30)


def test_relay_and_projector_converge_after_a_broker_restart_with_nothing_lost_or_doubled(
        isolated: Settings, tmp_path: Path) -> None:
    broker, own = on_private_broker(isolated, tmp_path)
    create_topics(own)
    store = EventStore(datastore_from_url(own.database_url))
    relay = Relay(own, store)
    relaying = threading.Thread(target=relay.run, daemon=True)
    relaying.start()
    log = tmp_path / "projector.log"
    projector = spawn(own, "projector", "--projection", "organizations", log=log,
                      PROJECTOR_PORT="0", KAFKA_DELIVERY_TIMEOUT_MS="2000", LOG_LEVEL="info")
    try:
        with psycopg.connect(own.database_url, autocommit=True) as conn, Writer(store) as writer:
            wait_until(lambda: consumed(conn, "organizations") > 0, timeout=60,
                       message=f"projector running ({log.read_text()[-800:]})")
            broker.stop()
            time.sleep(5)
            broker.wait_ready(process=broker.start())
            time.sleep(3)
        head = store.head()
        with psycopg.connect(own.database_url, autocommit=True) as conn:
            wait_until(lambda: caught_up(conn, "organizations") >= head, timeout=120,
                       message=f"projector converges ({log.read_text()[-1500:]})")
            found, ledger = rows(conn), consumed(conn, "organizations")
        assert projector.poll() is None, "the projector healed without a restart"
        messages = read_topic(own.kafka_bootstrap_servers, own.topic("organization"),
                              own.kafka_partitions)
    finally:
        os.killpg(projector.pid, signal.SIGTERM)
        projector.wait(timeout=30)
        relay.stop()
        relaying.join(timeout=30)
        broker.kill()
        store.close()
    assert relay.stats.failures > 0, "the restart must have been felt by the relay"
    assert_whole_and_once(writer.expected, messages, found, ledger)


def assert_whole_and_once(expected: dict[UUID, Organization],
                          messages: list[tuple[bytes, bytes, dict[str, bytes]]],
                          found: dict[Any, tuple[Any, ...]], ledger: int) -> None:
    assert deduplicated_versions(messages) == {str(s): [1, 2, 3] for s in expected}
    assert {k: (v[0], v[4]) for k, v in found.items()} == {
        k: (s.name, 3) for k, s in expected.items()}
    # Every message in the topic moved the offsets exactly once: none applied twice.
    assert ledger == len(messages)
