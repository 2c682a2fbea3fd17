"""Raw append rate: our store vs the stock eventsourcing recorder vs plain PostgreSQL inserts."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import psycopg
from eventsourcing.persistence import StoredEvent
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


def rate(work: Callable[[], None], threads: int, seconds: float) -> float:
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


def run(settings: Settings, seconds: float, thread_counts: tuple[int, ...]) -> dict[str, dict[int, float]]:
    ours = EventStore(datastore_from_url(settings.database_url, pool_size=8, max_overflow=0))
    stock = EventStore(datastore_from_url(settings.database_url, pool_size=8, max_overflow=0),
                       table="stock_events")
    stock.create_tables()
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS plain_events (stream_id uuid, version bigint,"
                     " topic text, state bytea, id bigserial, PRIMARY KEY (stream_id, version))")
    plain_pool = ConnectionPool(settings.database_url, min_size=8, max_size=8, open=True)

    def append_ours() -> None:
        ours.append(two_events())

    def append_stock() -> None:
        stock.recorder.insert_events([
            StoredEvent(e.stream_id, e.version, e.event_type, encode(e)) for e in two_events()])

    def insert_plain() -> None:
        rows = [(e.stream_id, e.version, e.event_type, encode(e)) for e in two_events()]
        with plain_pool.connection() as conn, conn.cursor() as cur:
            cur.executemany("INSERT INTO plain_events (stream_id, version, topic, state)"
                            " VALUES (%s, %s, %s, %s)", rows)

    results: dict[str, dict[int, float]] = {"ours": {}, "stock": {}, "plain": {}}
    for threads in thread_counts:
        for name, work in (("ours", append_ours), ("stock", append_stock),
                           ("plain", insert_plain)):
            results[name][threads] = rate(work, threads, seconds)
    ours.close()
    stock.close()
    plain_pool.close()
    return results
