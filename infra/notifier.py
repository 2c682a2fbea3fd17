"""Wakes the relay after appends: one NOTIFY per burst of commits, outside their transactions.

A NOTIFY inside the append's transaction takes a database-wide lock at commit
(PreCommit_Notify) and so serializes committing writers. Here a writer only sets a flag after
its commit; one thread per process sends the NOTIFY, so a burst of appends costs one. A lost
NOTIFY (the process died between commit and send) only delays the relay to its poll interval.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import psycopg
from psycopg import sql

log = logging.getLogger("chronicle.notifier")

# After a NOTIFY the thread rests this long, so the commits meanwhile share the next one: under
# load a process sends at most 50 a second, not one per commit (each is a transaction, and a
# step of the relay with its flush, checkpoint and announcement); a lone commit is announced at
# once, and a relay that is behind reads again without waiting for one.
GAP_S = 0.02


class Notifier:
    def __init__(self, datastore: Any, channel: str) -> None:
        self.kwargs = {k: v for k, v in datastore.pool.kwargs.items() if k != "row_factory"}
        self.statement = sql.SQL("NOTIFY {}").format(sql.Identifier(channel))
        self.wanted = threading.Event()
        self.closed = False
        self.thread: threading.Thread | None = None
        self.start_lock = threading.Lock()

    def poke(self) -> None:
        if self.thread is None:
            with self.start_lock:
                if self.thread is None:
                    self.thread = threading.Thread(target=self._run, name="notifier",
                                                   daemon=True)
                    self.thread.start()
        self.wanted.set()

    def _run(self) -> None:
        conn: psycopg.Connection | None = None
        while True:
            self.wanted.wait()
            if self.closed:
                break
            self.wanted.clear()
            try:
                if conn is None or conn.closed:
                    conn = psycopg.connect(autocommit=True, **self.kwargs)
                conn.execute(self.statement)
                time.sleep(GAP_S)
            except psycopg.Error as exc:
                log.warning("could not notify the relay: %s", exc)
                conn = None
        if conn is not None:
            conn.close()

    def close(self) -> None:
        self.closed = True
        self.wanted.set()
        if self.thread is not None:
            self.thread.join(timeout=5)
