"""The caught-up samples a projector process's runners share (infra/projector/progress.py)."""

from __future__ import annotations

import psycopg
from confluent_kafka import Producer

from infra.eventstore import EventStore, datastore_from_url
from infra.projector.progress import Horizon
from infra.relay import write_checkpoint
from infra.settings import Settings
from projections.status import caught_up
from tests.builders import append_history
from tests.conftest import Workers, wait_until


def test_runners_share_one_sample_until_the_relay_moves_and_then_see_the_new_end_offsets(
        isolated: Settings) -> None:
    topic = isolated.topic("organization")
    keys = [(topic, p) for p in range(isolated.kafka_partitions)]
    horizon = Horizon(isolated.kafka_bootstrap_servers)
    with psycopg.connect(isolated.database_url, autocommit=True) as conn:
        first = horizon.sample(conn, keys, max_age_s=60)
        assert first is not None
        assert first[1] == dict.fromkeys(keys, 0)
        producer = Producer({"bootstrap.servers": isolated.kafka_bootstrap_servers})
        producer.produce(topic, b"x", partition=1)
        producer.flush(10)
        # Within its age, and with the relay where it was, a sibling gets the same sample.
        assert horizon.sample(conn, keys[:2], max_age_s=60) is first
        assert horizon.sample(conn, keys, max_age_s=0) is first
        write_checkpoint(conn, first[0] + 1)
        moved = horizon.sample(conn, keys, max_age_s=0)
        assert moved is not None
        assert moved[0] == first[0] + 1
        assert moved[1][(topic, 1)] == 1


def test_a_partition_the_broker_does_not_know_costs_one_failed_sample_not_every_later_one(
        isolated: Settings) -> None:
    good = [(isolated.topic("organization"), 0)]
    horizon = Horizon(isolated.kafka_bootstrap_servers)
    with psycopg.connect(isolated.database_url, autocommit=True) as conn:
        assert horizon.sample(conn, [("chronicle.no-such-topic", 0)], max_age_s=0) is None
        sample = horizon.sample(conn, good, max_age_s=0)
        assert sample is not None
        assert sample[1] == {good[0]: 0}


def test_runners_that_have_caught_up_after_a_burst_stop_polling_at_the_busy_interval(
        isolated: Settings) -> None:
    # Events applied while a proof was under way once left a runner "dirty" with nothing left
    # to prove, polling every 10 ms until the proof expired a minute later.
    store = EventStore(datastore_from_url(isolated.database_url))
    workers = Workers(isolated, store).start()
    try:
        append_history(store, streams=60, renames=5)
        last = store.head()
        with psycopg.connect(isolated.database_url, autocommit=True) as conn:
            wait_until(lambda: all(caught_up(conn, r.projection.name) >= last
                                   for r in workers.runners), timeout=60,
                       message="every projection to catch up with the burst")
        wait_until(lambda: not any(r.progress.busy for r in workers.runners), timeout=5,
                   message="every caught-up runner to go back to its idle poll: "
                           + str([r.projection.name for r in workers.runners if r.progress.busy]))
    finally:
        workers.stop()
        store.close()
