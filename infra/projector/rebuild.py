"""Rebuild a projection from the event store into a fresh table, then swap it in.

The old table keeps serving while the new one fills. PostgreSQL: the swap happens in one
transaction that first locks the live table against writers, applies the last events, renames
both tables (and their indexes: the next migrate finds the names it knows) and raises the
projection's checkpoint to the last position applied; readers wait on the rename's lock and then
read the new table, never an empty one. The fresh table has its row-level-security policy and
grants from its DDL, and the indexes events made on the live one (a resource type's expression
indexes) from its read model's ``runtime_indexes``. ClickHouse (events, resources, users):
EXCHANGE TABLES, then a catch-up (duplicates collapse on the key).

The live projector keeps its Kafka offsets: what it applies again after the swap is older than
the rebuilt rows and changes nothing (every write is guarded by the stream version).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import NamedTuple

import psycopg
from clickhouse_connect.driver.client import Client
from psycopg import sql

from infra import clickhouse
from infra.eventstore import EventStore
from infra.settings import Settings
from projections.base import Item, Projection
from projections.events_clickhouse import EventsProjection
from projections.readmodel import ReadModel
from projections.registry import PROJECTIONS
from projections.resources_clickhouse import ResourcesClickHouseProjection
from projections.table import Table
from projections.users_clickhouse import UsersClickHouseProjection

BATCH = 1000
CLICKHOUSE = "clickhouse_events"
Progress = Callable[[str], None]


class ClickHouseTable(NamedTuple):
    table: str
    ddl: str
    build: Callable[[Client, EventStore, str], Projection]  # the projection onto a table


# The ClickHouse projections a rebuild replaces, by name: their tables are keyed so that the
# events applied again after the exchange collapse onto the rows the rebuild wrote.
CLICKHOUSE_TABLES = {
    CLICKHOUSE: ClickHouseTable("events", clickhouse.EVENTS_DDL,
                                lambda c, _store, t: EventsProjection(c, table=t)),
    "clickhouse_resources": ClickHouseTable(
        "resources", clickhouse.RESOURCES_DDL, ResourcesClickHouseProjection),
    "clickhouse_users": ClickHouseTable("users", clickhouse.USERS_DDL,
                                        lambda c, _store, t: UsersClickHouseProjection(c, t)),
}

CHECKPOINT = ("UPDATE projection_partitions SET caught_up_position ="
              " GREATEST(caught_up_position, %s), updated_at = now() WHERE projection = %s")


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


def rebuildable() -> list[str]:
    """The projections a rebuild can replace: the table read models and ClickHouse's tables."""
    return [name for name, spec in PROJECTIONS.items()
            if spec.table is not None or name in CLICKHOUSE_TABLES]


def rebuild(settings: Settings, store: EventStore, name: str, progress: Progress) -> None:
    if name in CLICKHOUSE_TABLES:
        rebuild_clickhouse(settings, store, name, progress)
    else:
        rebuild_table(settings, store, name, progress)


def rebuild_table(settings: Settings, store: EventStore, name: str, progress: Progress) -> None:
    spec = PROJECTIONS[name]
    projection = spec.build(settings)
    if spec.table is None or not isinstance(projection, ReadModel):
        raise ValueError(f"{name} is not a table read model")
    table = spec.table
    fresh = f"{table.name}_r{int(time.time())}"
    projection.table = sql.Identifier(fresh)
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(fresh)))
        for statement in table.ddl(fresh):
            conn.execute(statement)
        with conn.cursor() as cur:
            last = replay(store, projection, cur, 0, progress, store.head())
            for statement in projection.runtime_indexes(cur, fresh).values():
                cur.execute(statement)  # after the rows: one sort each, not row by row
        progress(f"swapping {fresh} in (live writers paused for the final catch-up)")
        old = f"{fresh}_old"
        with conn.transaction(), conn.cursor() as cur:
            cur.execute(sql.SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(
                sql.Identifier(table.name)))
            last = replay(store, projection, cur, last, progress, store.head())
            made = projection.runtime_indexes(cur, fresh)  # and those made meanwhile
            for statement in made.values():
                cur.execute(statement)
            for statement in [*renames(table, table.name, old, made),
                              *renames(table, fresh, table.name, made)]:
                cur.execute(statement)
            cur.execute(CHECKPOINT, (last, name))
        conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(old)))


def renames(table: Table, source: str, target: str,
            runtime: Iterable[str] = ()) -> list[sql.Composed]:
    """Rename ``source`` (a copy of ``table``) to ``target``, with its key and indexes (the
    spec's, and the ``runtime`` ones' suffixes: ReadModel.runtime_indexes)."""
    pairs = [(f"{source}_pkey", f"{target}_pkey"),
             *((table.index_name(i, source), table.index_name(i, target)) for i in table.indexes),
             *((f"{source}_{s}", f"{target}_{s}") for s in runtime)]
    # IF EXISTS: a table swapped in by an earlier rebuild kept its fresh copy's index names.
    return [sql.SQL("ALTER TABLE {} RENAME TO {}").format(
                sql.Identifier(source), sql.Identifier(target)),
            *(sql.SQL("ALTER INDEX IF EXISTS {} RENAME TO {}").format(
                sql.Identifier(a), sql.Identifier(b)) for a, b in pairs)]


def rebuild_clickhouse(settings: Settings, store: EventStore, name: str,
                       progress: Progress) -> None:
    spec = CLICKHOUSE_TABLES[name]
    client = clickhouse.client(settings)
    fresh = f"{spec.table}_r{int(time.time())}"
    client.command(f"DROP TABLE IF EXISTS {fresh}")
    client.command(spec.ddl.format(table=fresh))
    last = replay(store, spec.build(client, store, fresh), None, 0, progress, store.head())
    progress(f"exchanging {fresh} with {spec.table}")
    client.command(f"EXCHANGE TABLES {spec.table} AND {fresh}")
    # A new projection: its inserter names the table it was made for.
    last = replay(store, spec.build(client, store, spec.table), None, last, progress,
                  store.head())
    client.command(f"DROP TABLE {fresh}")
    client.close()
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute(CHECKPOINT, (last, name))
