"""Caught-up proofs: the relay position a runner has provably applied, per partition.

Sample the relay checkpoint R, then each assigned partition's end offset (which holds
every event up to R, since the relay checkpoints only after Kafka acknowledged). Once the
runner's next offset reaches that watermark, the partition holds nothing at or below R that it
has not applied, and R is written as the partition's ``caught_up_position``.

An idle runner skips the end-offset request and the write while the relay position has not
moved since its last complete proof. The skip is kept only for a proof made under the current
assignment (every assign, revoke, rewind and rebuild drops it, and a proof with no assignment
does not count), and an idle runner proves again every ``REPROVE_S`` anyway, so a case missed
here costs that delay at most.
"""

from __future__ import annotations

import logging
import time

import psycopg
from confluent_kafka import IsolationLevel, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

from infra.relay import read_checkpoint

log = logging.getLogger("chronicle.projector")

BUSY_INTERVAL_S = 0.01
REPROVE_S = 60.0

# Every partition proven in one statement, and the announcement in the same transaction: one
# commit per proof (they run after every relay move, for every projection) instead of one per
# partition and another for the notification.
UPSERT = (
    "INSERT INTO projection_partitions (projection, topic, partition, next_offset,"
    " caught_up_position) SELECT %s, t, p, 0, %s FROM unnest(%s::text[], %s::int[]) AS u(t, p)"
    " ON CONFLICT (projection, topic, partition) DO UPDATE SET caught_up_position ="
    " GREATEST(projection_partitions.caught_up_position, EXCLUDED.caught_up_position)"
)
NOTIFY = "SELECT pg_notify('chronicle_projections', %s)"


class Progress:
    """One runner's proofs; ``offsets`` is the runner's next offset per (topic, partition)."""

    def __init__(self, projection: str, offsets: dict[tuple[str, int], int],
                 idle_interval_s: float, bootstrap_servers: str) -> None:
        self.projection = projection
        self.bootstrap_servers = bootstrap_servers
        self._admin: AdminClient | None = None
        self.offsets = offsets
        self.idle_interval_s = idle_interval_s
        self.assigned = False
        self.dirty = False
        # When the runner last showed it is keeping up (applied, proved, or found nothing new).
        self.keeping_up_at = time.monotonic()
        self._sample: tuple[int, dict[tuple[str, int], int]] | None = None
        self._last_sample = 0.0
        self._proven: int | None = None
        self._proven_at = 0.0
        self.seen_position = 0  # the highest store position this runner has applied

    @property
    def busy(self) -> bool:
        """A proof is due or under way: the runner should come back within BUSY_INTERVAL_S."""
        return self.dirty or self._sample is not None

    def forget(self) -> None:
        """The assignment or the read position changed: nothing proven holds any more."""
        self._sample = self._proven = None

    def applied(self, position: int = 0) -> None:
        self.dirty = True
        self.keeping_up_at = time.monotonic()
        self.seen_position = max(self.seen_position, position)

    def mark(self, conn: psycopg.Connection) -> None:
        now = time.monotonic()
        interval = BUSY_INTERVAL_S if self.dirty else self.idle_interval_s
        if self._sample is None and now - self._last_sample > interval:
            self._last_sample = now
            relay_position = read_checkpoint(conn)
            if (not self.dirty and relay_position == self._proven
                    and now - self._proven_at < REPROVE_S):
                self.keeping_up_at = now
                return
            self.dirty = False
            marks = self._high_watermarks()
            if marks is None:
                return
            self._sample = (relay_position, marks)
        if self._sample is not None:
            self._finish(conn, now)

    def _high_watermarks(self) -> dict[tuple[str, int], int] | None:
        """Every assigned partition's end offset, in one ListOffsets request per broker.

        Asked through the admin client's own connection: on the consumer's, the request would
        queue behind the long-polling fetch (up to fetch.wait.max.ms for each partition).
        """
        keys = list(self.offsets)
        if not keys:
            return {}
        if self._admin is None:
            self._admin = AdminClient({"bootstrap.servers": self.bootstrap_servers})
        futures = self._admin.list_offsets(
            {TopicPartition(*k): OffsetSpec.latest() for k in keys},
            isolation_level=IsolationLevel.READ_COMMITTED, request_timeout=5)
        try:
            return {(tp.topic, tp.partition): f.result().offset for tp, f in futures.items()}
        except KafkaException as exc:  # e.g. a leader moving: sample again later
            # A fresh client next time: after a broker restart this one can keep answering
            # FENCED_LEADER_EPOCH from its stale metadata forever (seen in the restart test).
            log.info("no end offsets for %s yet: %s", self.projection, exc)
            self._admin = None
            return None

    def _finish(self, conn: psycopg.Connection, now: float) -> None:
        assert self._sample is not None
        relay_position, marks = self._sample
        done = [k for k, high in marks.items() if self.offsets.get(k, -1) >= high]
        for key in done:
            del marks[key]
        if done or not marks:
            with conn.transaction():
                if done:
                    conn.execute(UPSERT, (self.projection, relay_position,
                                          [t for t, _ in done], [p for _, p in done]))
                if not marks:
                    conn.execute(NOTIFY, (self.projection,))
        if marks:
            return
        self._sample = None
        if relay_position < self.seen_position:
            # The events arrived before the relay's checkpoint (written after Kafka's ack)
            # covered them: prove again soon, or a read waiting for them waits an idle interval.
            self.dirty = True
        if not self.assigned:
            return  # between a revoke and an assign nothing is proven, whatever the marks say
        self.keeping_up_at = now
        if self.offsets:
            self._proven, self._proven_at = relay_position, now
