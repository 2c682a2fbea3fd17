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

The samples themselves are shared by every runner of a process (``Horizon``): under load the
relay moves many times a second, and each projection reading the relay checkpoint and asking
the broker for end offsets after each move was most of the broker's work per event. A sample
is valid whenever it was taken (its end offsets cover every event up to its position), so any
runner may use one a sibling took moments ago; one that is too old to cover a runner's newest
events only makes that runner ask again.
"""

from __future__ import annotations

import logging
import threading
import time

import psycopg
from confluent_kafka import IsolationLevel, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

from infra.relay import read_checkpoint

log = logging.getLogger("chronicle.projector")

BUSY_INTERVAL_S = 0.01
REPROVE_S = 60.0
FORGET_S = 10.0

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


Sample = tuple[int, dict[tuple[str, int], int]]  # a relay position, end offsets covering it


class Horizon:
    """One process's latest sample, taken by whichever runner needs a newer one first."""

    # One per broker and database: a sample pairs one relay's position with end offsets, so
    # two deployments in one process (the tests' environments) must never share one (a runner
    # would prove its partitions against another relay's position).
    _shared: dict[tuple[str, str], Horizon] = {}
    _shared_lock = threading.Lock()

    def __init__(self, bootstrap_servers: str) -> None:
        self.bootstrap_servers = bootstrap_servers
        self._admin: AdminClient | None = None
        self._lock = threading.Lock()
        self._wanted: dict[tuple[str, int], float] = {}  # partition: when a runner last asked
        self._sample: Sample | None = None
        self._taken_at = 0.0  # when the end offsets were asked
        self._checked_at = 0.0  # when the relay position was last read

    @classmethod
    def of(cls, bootstrap_servers: str, database_url: str) -> Horizon:
        with cls._shared_lock:
            return cls._shared.setdefault((bootstrap_servers, database_url),
                                          cls(bootstrap_servers))

    def sample(self, conn: psycopg.Connection, keys: list[tuple[str, int]],
               max_age_s: float) -> Sample | None:
        """A sample no older than ``max_age_s`` holding every key, or None when the broker
        cannot say now. With the relay where it was, the last end offsets still cover it."""
        with self._lock:
            now = time.monotonic()
            self._wanted.update(dict.fromkeys(keys, now))
            have = self._sample is not None and all(k in self._sample[1] for k in keys)
            if have and now - self._checked_at <= max_age_s:
                return self._sample
            relay_position = read_checkpoint(conn)
            self._checked_at = now
            if (have and self._sample is not None and self._sample[0] == relay_position
                    and now - self._taken_at < REPROVE_S):
                return self._sample
            # Partitions no runner asked about lately (a revoked one, a deleted topic) go.
            self._wanted = {k: at for k, at in self._wanted.items() if now - at < FORGET_S}
            marks = self._high_watermarks(list(self._wanted))
            if marks is None:
                self._sample = None
                self._wanted = {}  # each runner asks again for its own: a bad one fails alone
                return None
            self._sample, self._taken_at = (relay_position, marks), now
            return self._sample

    def _high_watermarks(self, keys: list[tuple[str, int]]) -> dict[tuple[str, int], int] | None:
        """Every wanted partition's end offset, in one ListOffsets request per broker.

        Asked through an admin client's own connection: on a consumer's, the request would
        queue behind the long-polling fetch (up to fetch.wait.max.ms for each partition).
        """
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
            log.info("no end offsets yet: %s", exc)
            self._admin = None
            return None


class Progress:
    """One runner's proofs; ``offsets`` is the runner's next offset per (topic, partition)."""

    def __init__(self, projection: str, offsets: dict[tuple[str, int], int],
                 idle_interval_s: float, bootstrap_servers: str, database_url: str) -> None:
        self.projection = projection
        self.horizon = Horizon.of(bootstrap_servers, database_url)
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
            sample = self.horizon.sample(conn, list(self.offsets), interval)
            if sample is None:
                return
            relay_position, marks = sample
            if relay_position == self._proven and now - self._proven_at < REPROVE_S:
                # Proven already: while the relay stands still a proof proves nothing more.
                # What was applied since is covered when it lies at or below that position
                # (applied while the proof was under way); above it, its checkpoint is to come.
                if self.seen_position <= relay_position:
                    self.dirty = False
                if not self.dirty:
                    self.keeping_up_at = now
                return
            self.dirty = False
            self._sample = (relay_position, {k: marks[k] for k in self.offsets})
        if self._sample is not None:
            self._finish(conn, now)

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
