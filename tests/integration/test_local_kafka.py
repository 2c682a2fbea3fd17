"""The local Apache Kafka broker (infra/local/kafka.py) keeps what it acknowledged through a kill -9."""

from __future__ import annotations

from pathlib import Path

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from infra.settings import Settings
from tests.builders import read_topic
from tests.conftest import private_broker


def test_a_broker_killed_with_sigkill_comes_back_with_every_acknowledged_message(
        settings: Settings, tmp_path: Path) -> None:
    broker = private_broker(settings, tmp_path)
    try:
        broker.wait_ready(process=broker.start())
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        admin.create_topics([NewTopic("survivor", num_partitions=2, replication_factor=1)])[
            "survivor"].result(timeout=30)
        producer = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all",
                             "enable.idempotence": True})
        for i in range(50):
            producer.produce("survivor", key=str(i % 7).encode(), value=str(i).encode())
        assert producer.flush(30) == 0
        broker.kill()
        assert broker.pid() is None
        broker.wait_ready(process=broker.start())
        values = [value for _key, value, _headers in read_topic(broker.bootstrap, "survivor", 2)]
        assert sorted(int(v) for v in values) == list(range(50))
    finally:
        broker.stop()
