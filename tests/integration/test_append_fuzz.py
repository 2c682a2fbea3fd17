"""Fuzz of the lock-free append against a tailing reader: nothing skipped, nothing read twice.

Writers (threads, and processes that get SIGKILLed) hold their transactions open for random
times after drawing ids, some roll back; a reader tails the log the way the relay does. The
same run against a reader without the final horizon must find skips, or the fuzz proves nothing.
``CHRONICLE_FUZZ_SECONDS`` lengthens the run (default 25 s).
"""

from __future__ import annotations

import itertools
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from uuid import UUID

import psycopg
from eventsourcing.postgres import PostgresApplicationRecorder

from infra.eventstore import EventStore, Recorded, datastore_from_url
from infra.settings import ROOT, Settings
from tests.integration.fuzz_writer import Abandon, delaying_hook, fresh_stream

SECONDS = float(os.environ.get("CHRONICLE_FUZZ_SECONDS", "25"))
THREADS, PROCESSES = 6, 2
Read = Callable[[int, int], list[Recorded]]


@dataclass
class Outcome:
    read: list[tuple[int, UUID]] = field(default_factory=list)
    rolled_back: set[UUID] = field(default_factory=set)
    killed_open: set[UUID] = field(default_factory=set)  # open when its writer was killed
    killed: set[UUID] = field(default_factory=set)  # of those, the ones that never committed
    kills: int = 0
    committed: dict[int, UUID] = field(default_factory=dict)


def write_until(store: EventStore, seed: int, stop: threading.Event, outcome: Outcome) -> None:
    rng = random.Random(seed)
    while not stop.is_set():
        batch = fresh_stream(rng)
        if rng.random() < 0.3:
            store.append(batch)  # one statement, no transaction block: its own, shorter gap
            continue
        roll_back = rng.random() < 0.15
        try:
            store.append(batch, after_insert=delaying_hook(rng, 0.02, roll_back=roll_back,
                                                           in_server=0.5))
        except Abandon:
            outcome.rolled_back.add(batch[0].stream_id)


def tail(read: Read, until: Callable[[int], bool], outcome: Outcome) -> None:
    """Read like the relay: from the last position read, in batches, pausing when idle."""
    after = 0
    while not until(after):
        batch = read(after, 100)
        outcome.read += [(r.position, r.envelope.stream_id) for r in batch]
        if batch:
            after = batch[-1].position
        else:
            time.sleep(0.002)


class Fleet:
    """Writer processes; one is SIGKILLed (mostly mid-transaction) and replaced now and then."""

    def __init__(self, url: str, logs: Path, rng: random.Random) -> None:
        self.url, self.logs, self.rng = url, logs, rng
        self.procs: list[tuple[subprocess.Popen[bytes], Path]] = []
        self.started = 0

    def spawn(self) -> None:
        log = self.logs / f"writer-{self.started}.log"
        self.started += 1
        handle = log.open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.integration.fuzz_writer", self.url,
             str(self.rng.getrandbits(32))], cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT)
        self.procs.append((proc, log))

    def kill_one(self, outcome: Outcome) -> None:
        proc, log = self.procs.pop(self._victim())
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        outcome.kills += 1
        outcome.killed_open |= open_at_kill(log)
        self.spawn()

    def _victim(self, patience_s: float = 1.0) -> int:
        """A writer with a transaction open, if one shows up within ``patience_s`` (on a loaded
        machine a random pick is often between transactions, or not yet started), else any."""
        deadline = time.monotonic() + patience_s
        while time.monotonic() < deadline:
            busy = [i for i, (_, log) in enumerate(self.procs) if open_now(log)]
            if busy:
                return self.rng.choice(busy)
            time.sleep(0.005)
        return self.rng.randrange(len(self.procs))

    def kill_all(self, outcome: Outcome) -> None:
        while self.procs:
            proc, log = self.procs.pop()
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            outcome.killed_open |= open_at_kill(log)


def open_now(log: Path) -> bool:
    """The writer logged "open" for a stream it has not logged "done" for yet."""
    text = log.read_text()
    return text.count("open ") > text.count("done ")


def open_at_kill(log: Path) -> set[UUID]:
    lines = log.read_text().split()
    opened = {lines[i + 1] for i in range(0, len(lines) - 1, 2) if lines[i] == "open"}
    done = {lines[i + 1] for i in range(0, len(lines) - 1, 2) if lines[i] == "done"}
    assert "Traceback" not in log.read_text(), log.read_text()[-2000:]
    return {UUID(s) for s in opened - done}


def fuzz(settings: Settings, reader: Callable[[EventStore], Read], seconds: float,
         logs: Path) -> Outcome:
    store = EventStore(datastore_from_url(settings.database_url, pool_size=8, max_overflow=8))
    outcome, stop, head = Outcome(), threading.Event(), [0]
    seed = random.randrange(2**32)
    print(f"fuzz seed {seed}")  # shown by pytest on failure; random.seed it to replay
    rng = random.Random(seed)
    writers = [threading.Thread(target=write_until, args=(store, rng.getrandbits(32), stop,
                                                          outcome)) for _ in range(THREADS)]
    tailing = threading.Thread(target=tail, args=(
        reader(store), lambda after: bool(head[0]) and after >= head[0], outcome))
    fleet = Fleet(settings.database_url, logs, rng)
    for _ in range(PROCESSES):
        fleet.spawn()
    for t in [*writers, tailing]:
        t.start()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(rng.uniform(0.3, 1.5))
        fleet.kill_one(outcome)
    stop.set()
    for t in writers:
        t.join()
    fleet.kill_all(outcome)
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        # A killed writer's backend ends its transaction as soon as it sees the socket close.
        while conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                           " AND backend_xid IS NOT NULL").fetchone()[0]:  # type: ignore[index]
            time.sleep(0.01)
        outcome.committed = dict(conn.execute(
            "SELECT notification_id, originator_id FROM chronicle_events").fetchall())
    # A writer killed after its COMMIT went out but before it said so did commit.
    outcome.killed = outcome.killed_open - set(outcome.committed.values())
    head[0] = max(outcome.committed, default=1)
    tailing.join(timeout=60)
    store.close()
    return outcome


def problems(o: Outcome) -> list[str]:
    positions = [p for p, _ in o.read]
    found = []
    if any(b <= a for a, b in itertools.pairwise(positions)):
        found.append("positions were read out of order or twice")
    if skipped := sorted(set(o.committed) - set(positions)):
        found.append(f"{len(skipped)} committed events were skipped, e.g. {skipped[:5]}")
    if phantom := set(positions) - set(o.committed):
        found.append(f"{len(phantom)} events read that never committed")
    if undone := {s for _, s in o.read} & (o.rolled_back | o.killed):
        found.append(f"{len(undone)} rolled-back or killed streams were read")
    return found


def naive(store: EventStore) -> Read:
    """The notification log by id alone, as the stock recorder's readers take it."""
    def read(after: int, limit: int) -> list[Recorded]:
        notes = PostgresApplicationRecorder.select_notifications(
            store.recorder, after, limit, inclusive_of_start=False)
        return [Recorded(n.id, store.mapper.to_envelope(n), n.state) for n in notes]
    return read


def test_a_tailing_reader_reads_every_committed_event_once_in_order_and_nothing_else(
        isolated: Settings, tmp_path: Path) -> None:
    outcome = fuzz(isolated, lambda store: store.tail, SECONDS, tmp_path)
    assert problems(outcome) == []
    assert len(outcome.committed) > 500, "the writers barely wrote"
    assert outcome.rolled_back, "no transaction was rolled back"
    assert outcome.kills >= 5, "too few writers were killed"
    assert outcome.killed, "no writer was killed mid-transaction"
    assert not set(outcome.committed.values()) & outcome.rolled_back, "a rollback committed"


def test_the_same_fuzz_finds_skips_in_a_reader_without_the_final_horizon(
        isolated: Settings, tmp_path: Path) -> None:
    outcome = fuzz(isolated, naive, min(SECONDS, 5), tmp_path)
    assert any("skipped" in p for p in problems(outcome)), problems(outcome)
