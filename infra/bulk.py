"""The bulk worker (`chronicle bulk`): finds the bulk operations not finished and applies
them chunk by chunk (commands/bulk.py), in a process of its own so that a long operation never
holds a projection back. Any number may run: two on one operation meet on its version.

It looks in the bulk_operations read model for open operations, and waits between looks on
the projector's notifications (a submission is projected, then the worker wakes) or
BULK_IDLE_POLL_MS. What it applies it reads from the event store, never from the read model.
It also wakes on the store's own notification after an append (the relay's) and looks at the
submissions appended since its last look: an operation starts without waiting for the relay,
Kafka and the projector (0.6-2 s of a 10,000-item operation's wall time). That look can miss
a submission whose id committed late; the read model's look finds it.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from uuid import UUID

import psycopg

from commands.bulk import BulkCommands
from infra.eventstore import EVENTS_TABLE
from infra.settings import Settings
from projections.bulk_operation_queries import caught_up, open_operations
from projections.resource_queries import dependents_now

log = logging.getLogger("chronicle.bulk")

CHANNEL = "chronicle_projections"  # what infra/projector/progress.py notifies on
PROJECTION = "bulk_operations"
MAX_FINISHED = 10_000  # operations remembered as finished while the read model catches up
RECONNECT_S = 1.0
HEAD = f"SELECT coalesce(max(notification_id), 0) FROM {EVENTS_TABLE}"  # the store's position
STORE_CHANNEL = EVENTS_TABLE  # what the store's writers notify on after an append (the relay's)
# Looks woken by appends are this far apart at least: every API process notifies after its
# appends, and an idle worker would otherwise query on each of them.
MIN_LOOK_S = 0.05
# The submissions after a position, and the last position looked at: each event is looked at
# once, however few of them are submissions.
SUBMITTED = (f"SELECT max(notification_id), coalesce(array_agg(originator_id ORDER BY"
             f" notification_id) FILTER (WHERE topic = 'bulk_operation.Submitted'), '{{}}')"
             f" FROM {EVENTS_TABLE} WHERE notification_id > %s")


def crash_point(point: str, chunk: int) -> None:
    """Test-only: CHRONICLE_ENV=test and CHRONICLE_BULK_CRASH=<point>:<chunk> kill the process
    there (``before_append`` or ``after_append`` of that chunk), as a kill -9 would."""
    if os.environ.get("CHRONICLE_ENV") == "test" and os.environ.get(
            "CHRONICLE_BULK_CRASH") == f"{point}:{chunk}":
        os._exit(137)


class BulkWorker:
    def __init__(self, settings: Settings, commands: BulkCommands) -> None:
        self.settings, self.commands = settings, commands
        self.idle_s = settings.bulk_idle_poll_ms / 1000
        self.read_wait_s = settings.read_wait_timeout_ms / 1000
        self.stopped = threading.Event()
        self.finished: set[UUID] = set()
        self.operations_finished = 0
        self.errors = 0
        self.last_error = ""
        self.looked_at = time.monotonic()  # when it last looked for work (health)
        self.seen = -1  # the store position up to which it looked for submissions (-1: not yet)

    def stop(self) -> None:
        self.stopped.set()

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                with psycopg.connect(self.settings.database_url, autocommit=True,
                                     connect_timeout=5) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    conn.execute(f"LISTEN {STORE_CHANNEL}")
                    while not self.stopped.is_set():
                        if not self.round(conn):
                            self._wait(conn)
            except psycopg.OperationalError as exc:
                self._failed(exc)
                self.stopped.wait(RECONNECT_S)

    def round(self, conn: psycopg.Connection) -> bool:
        """Apply every open operation; False when none finished (nothing to do, or each one
        failed: the worker then waits rather than retrying at once)."""
        self.looked_at = time.monotonic()
        finished = False
        for operation_id in dict.fromkeys([*self._submitted(conn), *open_operations(conn)]):
            if self.stopped.is_set():
                break
            if operation_id not in self.finished:
                finished = self._process(operation_id, conn) or finished
        return finished

    def _submitted(self, conn: psycopg.Connection) -> list[UUID]:
        """The operations submitted since the last look, from the event store (the first
        look starts at its head: what came before, the read model knows)."""
        if self.seen < 0:
            row = conn.execute(HEAD).fetchone()
            self.seen = int(row[0]) if row else 0
            return []
        row = conn.execute(SUBMITTED, (self.seen,)).fetchone()
        if row is None or row[0] is None:
            return []
        self.seen = int(row[0])
        return list(row[1])

    def _dependents(self, conn: psycopg.Connection,
                    ) -> Callable[[UUID, Sequence[UUID]], dict[UUID, list[UUID]]]:
        """A chunk's delete items' dependents from the resources read model, once it holds
        every write committed before the chunk was decided (earlier chunks; the chunk in
        flight is the batch's own): a bounded wait, then one walk per deleted resource."""

        def found(organization_id: UUID, deleted: Sequence[UUID]) -> dict[UUID, list[UUID]]:
            row = conn.execute(HEAD).fetchone()
            head = int(row[0]) if row else 0
            if not caught_up(conn, "resources", head, self.read_wait_s):
                log.warning("bulk worker: the resources read model lags position %d", head)
            return {i: dependents_now(conn, organization_id, i) for i in deleted}

        return found

    def _process(self, operation_id: UUID, conn: psycopg.Connection) -> bool:
        try:
            done = self.commands.process(operation_id, dependents=self._dependents(conn),
                                         stop=self.stopped.is_set, crash=crash_point)
        except Exception as exc:  # the next round tries again; the operation keeps its place
            self._failed(exc)
            return False
        if done:
            if len(self.finished) >= MAX_FINISHED:
                self.finished.clear()
            self.finished.add(operation_id)
            self.operations_finished += 1
        return done

    def _wait(self, conn: psycopg.Connection) -> None:
        """Until the bulk_operations projection applied something, or the idle poll."""
        deadline = time.monotonic() + self.idle_s
        while not self.stopped.is_set() and (left := deadline - time.monotonic()) > 0:
            for note in conn.notifies(timeout=min(left, 0.5), stop_after=1):
                if note.channel == STORE_CHANNEL:
                    self.stopped.wait(max(0.0, self.looked_at + MIN_LOOK_S - time.monotonic()))
                    return
                if note.payload == PROJECTION:
                    return

    def _failed(self, exc: BaseException) -> None:
        self.errors += 1
        self.last_error = f"{type(exc).__name__}: {exc}"[:500]
        log.warning("bulk worker: %s", self.last_error)

    def report(self) -> dict[str, object]:
        idle = time.monotonic() - self.looked_at
        # A round may take a while (a 10,000-item operation); a stop in looking is not.
        stalled = idle > max(60.0, 10 * self.idle_s)
        return {"status": "unhealthy" if stalled else "healthy",
                "operationsFinished": self.operations_finished, "errors": self.errors,
                "lastError": self.last_error or None, "sinceLastLook": round(idle, 1)}

    def metrics(self) -> dict[str, float]:
        return {"bulk_operations_finished_total": self.operations_finished,
                "bulk_worker_errors_total": self.errors}
