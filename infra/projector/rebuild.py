"""Rebuild a projection from the event store into a fresh table, then swap it in.

The old table keeps serving while the new one fills. PostgreSQL: the swap happens in one
transaction that first locks the live table against writers, applies the last events, and
renames. ClickHouse: EXCHANGE TABLES, then a catch-up (duplicates collapse on the key).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import psycopg
from psycopg import sql

from infra import clickhouse
from infra.eventstore import EventStore
from infra.settings import Settings
from projections import organizations
from projections.base import Item, Projection
from projections.events_clickhouse import EventsProjection

BATCH = 1000
Progress = Callable[[str], None]


def replay(store: EventStore, projection: Projection, cur: psycopg.Cursor | None,
           after: int, progress: Progress, head: int) -> int:
    """Apply every event after ``after``; returns the last position applied."""
    while True:
        batch = store.read(after, BATCH)
        if not batch:
            return after
        projection.apply(cur, [Item(r.position, r.envelope) for r in batch])  # type: ignore[arg-type]
        after = batch[-1].position
        progress(f"  applied up to position {after} of {max(head, after)}")


def rebuild_organizations(settings: Settings, store: EventStore, progress: Progress) -> None:
    fresh = f"organizations_r{int(time.time())}"
    projection = organizations.OrganizationsProjection(table=fresh)
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        for statement in organizations.ddl(fresh):
            conn.execute(statement)
        with conn.cursor() as cur:
            last = replay(store, projection, cur, 0, progress, store.head())
        progress(f"swapping {fresh} in (live writers paused for the final catch-up)")
        old = f"{fresh}_old"
        with conn.transaction(), conn.cursor() as cur:
            cur.execute("LOCK TABLE organizations IN EXCLUSIVE MODE")
            replay(store, projection, cur, last, progress, store.head())
            cur.execute(sql.SQL("ALTER TABLE organizations RENAME TO {}").format(
                sql.Identifier(old)))
            cur.execute(sql.SQL("ALTER TABLE {} RENAME TO organizations").format(
                sql.Identifier(fresh)))
        conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(old)))


def rebuild_clickhouse_events(settings: Settings, store: EventStore, progress: Progress) -> None:
    client = clickhouse.client(settings)
    fresh = f"events_r{int(time.time())}"
    client.command(clickhouse.EVENTS_DDL.format(table=fresh))
    projection = EventsProjection(client, table=fresh)
    last = replay(store, projection, None, 0, progress, store.head())
    progress(f"exchanging {fresh} with events")
    client.command(f"EXCHANGE TABLES events AND {fresh}")
    projection.table = "events"
    replay(store, projection, None, last, progress, store.head())
    client.command(f"DROP TABLE {fresh}")
    client.close()


REBUILDERS: dict[str, Callable[[Settings, EventStore, Progress], None]] = {
    "organizations": rebuild_organizations,
    "clickhouse_events": rebuild_clickhouse_events,
}
