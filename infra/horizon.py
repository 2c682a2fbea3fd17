"""The final horizon of the notification log: the highest id below which nothing can still appear.

Appends take no table lock, so ids are drawn in one order and committed in another: a reader
that passed id 6 while the transaction holding id 5 was still running would skip 5 forever.
A reader therefore only reads up to ids that are *final* (committed or rolled back for good).

Why an id is final (every writer takes its xid before it draws an id, see ``infra.eventstore``):
1. read L, the sequence's last value: every id <= L was drawn before, by a writer whose xid
   was assigned before that;
2. in a later statement, take a fresh xid R of our own: R is greater than every xid assigned
   before step 1 (xids are handed out in order);
3. then, if no transaction of this database with an xid < R is still running
   (pg_stat_activity.backend_xid, prepared transactions too; read in R's statement or any
   later one), every id <= L is final: each writer holding one had its xid, < R, before L
   was read, so it is listed while it runs. A snapshot whose xmin >= R + 1 (R committed)
   proves the same for the whole cluster; it is only a shortcut, since xmin is cluster-wide
   and a long transaction in another database would hold every relay back.
The snapshot's own xmax cannot stand in for R: it is latestCompletedXid + 1, not the next xid,
so a running writer whose xid is >= xmax is in neither xmin nor the snapshot's list
(measured on PostgreSQL 15: a writer holding xid 2435 next to a snapshot ``2435:2435:``).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any, NamedTuple

# Step 2 costs an xid, so it runs only when ids were drawn that no pending pair covers yet;
# an idle reader spends none. Statement order matters: the snapshot (xmin) is taken when the
# statement starts, L is read while it runs, so an L is never paired with its own xid.
# Running xids of this database are 32-bit (pg_stat_activity has no xid8); compared with R
# modulo 2**32, which is sound because running xids are within 2**31 of the next one. The
# probe's own session is left out: its xid (step 2) holds no id, and counting it made every
# BOUND probe wait for a further LOOK, about three probes per settle instead of two. A role
# that cannot read every session's backend_xid gets NULL, and only the cluster xmin counts.
_RUNNING = ("CASE WHEN pg_has_role('pg_read_all_stats', 'MEMBER') THEN ARRAY("
            "SELECT backend_xid::text::bigint FROM pg_stat_activity"
            " WHERE datname = current_database() AND backend_xid IS NOT NULL"
            " AND pid <> pg_backend_pid()"
            " UNION ALL SELECT transaction::text::bigint FROM pg_prepared_xacts"
            " WHERE database = current_database()) END AS running")
LOOK = ("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS xmin,"
        " coalesce(pg_sequence_last_value(%s::regclass), 0) AS last, " + _RUNNING)
BOUND = ("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS xmin,"
         " coalesce(pg_sequence_last_value(%s::regclass), 0) AS last,"
         " pg_current_xact_id()::text::bigint AS xid, " + _RUNNING)
MAX_PENDING = 64


class Probe(NamedTuple):
    xmin: int
    last: int
    xid: int | None = None
    running: tuple[int, ...] | None = ()  # 32-bit xids running in this database; None: unknown


def still_running(probe: Probe, bound: int) -> bool:
    """Whether a transaction that may hold one of our ids, xid < ``bound``, still runs."""
    if bound <= probe.xmin:
        return False
    if probe.running is None:
        return True
    r = (bound - 1) % 2**32
    return any((r - x) % 2**32 < 2**31 for x in probe.running)


class Horizon:
    """What the probes so far prove final; pure bookkeeping, fed one probe at a time, in order."""

    def __init__(self) -> None:
        self.final = 0
        self.seen = 0  # the latest L read, not yet paired with a later xid
        # (L, bound): every id <= L is final once no transaction with an xid < bound runs
        self.pending: deque[tuple[int, int]] = deque()

    def covered(self) -> int:
        return self.pending[-1][0] if self.pending else self.final

    def observe(self, probe: Probe) -> None:
        if probe.xid is not None and self.seen > self.covered():
            if len(self.pending) >= MAX_PENDING:
                # Merging into the newest pair only makes it wait longer: never unsafe.
                self.pending.pop()
            self.pending.append((self.seen, probe.xid + 1))
        while self.pending and not still_running(probe, self.pending[0][1]):
            self.final = max(self.final, self.pending.popleft()[0])
        self.seen = max(self.seen, probe.last)

    def behind(self) -> bool:
        """Ids were drawn that are not final yet (their transactions may still commit)."""
        return self.seen > self.final


class FinalHorizon:
    """A horizon kept up to date against the database; shared by every reader of one store."""

    def __init__(self, datastore: Any, sequence: str) -> None:
        self.datastore = datastore
        self.sequence = sequence
        self.state = Horizon()
        self.lock = threading.Lock()

    def probe(self, statement: str) -> None:
        # Under the lock, so each probe starts after the previous one finished (and committed).
        with self.lock, self.datastore.get_connection() as conn, conn.cursor() as cur:
            row = cur.execute(statement, (self.sequence,)).fetchone()
            running = None if row["running"] is None else tuple(row["running"])
            self.state.observe(Probe(row["xmin"], row["last"], row.get("xid"), running))

    def settle(self, wait: float, *, past: int | None = None) -> int:
        """Make every id drawn before this call final if that happens within ``wait`` seconds.

        With ``past``, return as soon as anything above it is final: a tailing reader
        publishes that at once rather than wait for a slow transaction further on.
        """
        self.probe(LOOK)
        target = self.state.seen
        deadline = time.monotonic() + wait
        pause = 0.0
        while not self._settled(target, past):
            self.probe(BOUND if self.state.covered() < target else LOOK)
            if self._settled(target, past) or time.monotonic() >= deadline:
                break
            # Only while transactions holding ids run: a bounded, backing-off wait, not a spin.
            time.sleep(pause)
            pause = min(max(pause * 2, 0.0005), 0.01)
        return self.state.final

    def _settled(self, target: int, past: int | None) -> bool:
        return self.state.final >= target or (past is not None and self.state.final > past)

    def behind(self) -> bool:
        return self.state.behind()
