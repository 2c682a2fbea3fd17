"""Raw append rate: our store vs the stock eventsourcing recorder vs plain PostgreSQL inserts,
and how far a tailing reader's final horizon trails the writers."""

from __future__ import annotations

import multiprocessing
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import psycopg
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg_pool import ConnectionPool

from domain.envelope import Actor, Envelope, encode
from domain.organization.events import (
    OrganizationCreated,
    OrganizationRenamed,
    OrganizationSettings,
)
from infra.eventstore import EventStore, datastore_from_url
from infra.settings import Settings

ACTOR = Actor(kind="system", id="bench")


def two_events() -> list[Envelope]:
    """A new stream with two events: the unit every append figure below counts."""
    sid, now = uuid.uuid4(), datetime.now(UTC)
    events = [OrganizationCreated(name="Bench", slug=f"b-{sid.hex[:12]}", plan="free",
                                  settings=OrganizationSettings()),
              OrganizationRenamed(name="Bench 2", previous_name="Bench")]
    return [Envelope(event_id=uuid.uuid4(), stream_id=sid, stream_type="organization",
                     version=i + 1, organization_id=sid, occurred_at=now, actor=ACTOR,
                     request_id="bench", correlation_id="bench", causation_id="bench", event=e)
            for i, e in enumerate(events)]


def rate(work: Callable[[], object], threads: int, seconds: float) -> float:
    """Transactions per second of ``work`` run by ``threads`` threads for ``seconds``."""
    counts = [0] * threads
    stop = time.monotonic() + seconds

    def loop(i: int) -> None:
        while time.monotonic() < stop:
            work()
            counts[i] += 1

    pool = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    started = time.monotonic()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return sum(counts) / (time.monotonic() - started)


WRITERS = (1, 4, 16)
KINDS = ("ours", "ours+hook", "ours+hook+notify", "stock", "plain")


def run(settings: Settings, seconds: float,
        thread_counts: tuple[int, ...] = WRITERS) -> dict[str, dict[int, float]]:
    """tx/s per kind and writer count, the kinds interleaved so drift hits all alike.

    ours: no table lock, one statement, NOTIFY after commit (coalesced); ours+hook: with an
    after_insert hook (a transaction of two round trips, as a command with an idempotency
    key); ours+hook+notify: the same with the stock NOTIFY inside the transaction; stock:
    eventsourcing's recorder (LOCK TABLE + NOTIFY); plain: the two rows INSERTed, nothing else.
    """
    size = max(thread_counts)
    ours = EventStore(datastore_from_url(settings.database_url, pool_size=size, max_overflow=0))
    notifying = EventStore(datastore_from_url(settings.database_url, pool_size=size,
                                              max_overflow=0),
                           table="notifying_events", notify_in_transaction=True)
    notifying.create_tables()
    stock_ds = datastore_from_url(settings.database_url, pool_size=size, max_overflow=0)
    stock = PostgresApplicationRecorder(stock_ds, events_table_name="stock_events")
    stock.create_table()
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS plain_events (stream_id uuid, version bigint,"
                     " topic text, state bytea, id bigserial, PRIMARY KEY (stream_id, version))")
    plain_pool = ConnectionPool(settings.database_url, min_size=size, max_size=size, open=True)

    def insert_plain() -> None:
        rows = [(e.stream_id, e.version, e.event_type, encode(e)) for e in two_events()]
        with plain_pool.connection() as conn, conn.cursor() as cur:
            cur.executemany("INSERT INTO plain_events (stream_id, version, topic, state)"
                            " VALUES (%s, %s, %s, %s)", rows)

    def no_op(_cur: object, _ids: object) -> None:
        pass

    def append_stock() -> None:
        stock.insert_events([StoredEvent(e.stream_id, e.version, e.event_type, encode(e))
                             for e in two_events()])

    work: dict[str, Callable[[], object]] = {
        "ours": lambda: ours.append(two_events()),
        "ours+hook": lambda: ours.append(two_events(), after_insert=no_op),
        "ours+hook+notify": lambda: notifying.append(two_events(), after_insert=no_op),
        "stock": append_stock,
        "plain": insert_plain,
    }
    results: dict[str, dict[int, float]] = {k: {} for k in KINDS}
    for threads in thread_counts:
        for kind in KINDS:
            results[kind][threads] = rate(work[kind], threads, seconds)
    for closing in (ours, notifying):
        closing.close()
    stock_ds.close()
    plain_pool.close()
    return results


def horizon_lag(settings: Settings, seconds: float, writers: int = 16,
                offered: float = 500) -> list[float]:
    """Commit-to-read lag (ms) of a reader tailing like the relay, in its own process as the
    relay is, while ``writers`` threads of another process append ``offered`` times a second."""
    store = EventStore(datastore_from_url(settings.database_url, pool_size=2, max_overflow=0),
                       table="lag_events")
    store.create_tables()
    context = multiprocessing.get_context("spawn")
    results: multiprocessing.Queue[dict[int, float]] = context.Queue()
    child = context.Process(target=lag_writers,
                            args=(settings.database_url, writers, seconds, offered, results))
    child.start()
    read_at: dict[int, float] = {}
    committed: dict[int, float] | None = None
    after = 0
    while committed is None or after < max(committed, default=0):
        batch = store.tail(after, 500)
        now = time.monotonic()  # CLOCK_MONOTONIC: the same clock in both processes
        read_at.update((r.position, now) for r in batch)
        after = batch[-1].position if batch else after
        if committed is None and not results.empty():
            # Taken as soon as it is there: a child with unread queue data never exits.
            committed = results.get()
        elif not batch and not store.behind():
            time.sleep(0.001)
    child.join()
    store.close()
    return [(read_at[p] - t) * 1000 for p, t in committed.items() if p in read_at]


def lag_writers(url: str, writers: int, seconds: float, offered: float,
                results: multiprocessing.Queue[dict[int, float]]) -> None:
    store = EventStore(datastore_from_url(url, pool_size=writers, max_overflow=0),
                       table="lag_events")
    committed: dict[int, float] = {}
    interval = writers / offered

    def write() -> None:
        due = time.monotonic() + interval
        positions = store.append(two_events())
        now = time.monotonic()
        for position in positions:
            committed[position] = now
        time.sleep(max(0.0, due - now))

    rate(write, writers, seconds)
    store.close()
    results.put(committed)
