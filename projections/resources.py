"""The resources read model in PostgreSQL: each resource's latest state, one row per stream,
laid out for the queries of issue 11 item 5 (jsonb data under a GIN index, tags as a text
array, a full-text vector over data's strings) so that they need no migration."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby
from typing import Any

import msgspec
import psycopg
from psycopg import sql

from domain.envelope import Envelope
from domain.resource import decider as resource
from domain.resource.events import (
    ResourceArchived,
    ResourceCreated,
    ResourceDeleted,
    ResourcePatched,
    ResourceReplaced,
    ResourceRestored,
)
from domain.resource.stamps import actor_text
from projections.base import Item
from projections.readmodel import ReadModel
from projections.table import Column, Index, Table

TABLE = "resources"
# Every string in data, as words ('simple': tenants' data is in any language).
SEARCH = ("tsvector GENERATED ALWAYS AS"
          " (jsonb_to_tsvector('simple'::regconfig, data, '[\"string\"]')) STORED")

# A filter `data.<path>=eq.<v>` is `data @> {...}`, which the planner estimates by testing it
# on the column's histogram of whole documents: 100 of them (the default) put a value in 5 % of
# the rows anywhere from 0.01 % to 10 %, so a GIN bitmap and a sort of 50,000 rows often won
# over an ordered index scan (bench.resources' filtered query at 1 M rows: p95 350 ms to 1 s,
# some 2 s); 1,000 make the estimate right (p95 40 ms), for a slower ANALYZE.
DATA_STATISTICS = 1000

SPEC = Table(TABLE, tenant="organization_id", columns=(
    Column("id", "uuid"),
    Column("organization_id", "uuid"),
    Column("type", "text"),
    Column("type_version", "integer"),
    Column("external_key", "text", null=True),
    Column("status", "text"),  # active, archived, deleted
    Column("data", "jsonb", statistics=DATA_STATISTICS),
    Column("tags", "text[]"),
    Column("labels", "jsonb"),
    Column("annotations", "jsonb"),
    Column("relationships", "jsonb"),
    Column("checksum", "text"),  # SHA-256 of data's canonical JSON
    Column("size", "integer"),  # data's canonical JSON, in bytes
    Column("created_by", "text"),  # the actor, "<kind>:<id>"
    Column("updated_by", "text"),
    Column("deleted_at", "timestamptz", null=True),
    Column("search", SEARCH, null=True),
    Column("version", "bigint"),
    Column("created_position", "bigint"),
    Column("created_at", "timestamptz"),
    Column("updated_at", "timestamptz"),
), indexes=(Index("list_idx", ("organization_id", "type", "created_position")),
            Index("key_idx", ("organization_id", "type", "external_key")),
            Index("data_idx", ("data",), method="gin", opclass="jsonb_path_ops"),
            Index("tags_idx", ("tags",), method="gin"),
            Index("search_idx", ("search",), method="gin"),
            # who depends on a resource: relationships @> '[{"type": "dependency", "id": …}]'
            Index("relationships_idx", ("relationships",), method="gin",
                  opclass="jsonb_path_ops")))


def actor_of(envelope: Envelope) -> str:
    return actor_text(envelope.actor)


def _json(value: object) -> str:
    return msgspec.json.encode(value).decode()


def row_change(envelope: Envelope) -> tuple[str, dict[str, Any]] | None:
    """What the event means for its row: ("insert" | "update", the columns it sets), or None.
    Pure, so the property tests fold it over random histories beside the decider."""
    by = actor_of(envelope)
    match envelope.event:
        case ResourceCreated() as c:
            return "insert", {"organization_id": c.organization_id, "type": c.resource_type,
                              "external_key": c.external_key, "status": "active",
                              "created_by": by, "updated_by": by, "deleted_at": None,
                              **_content(c)}
        case ResourceReplaced() | ResourcePatched() as w:
            return "update", {**_content(w), "updated_by": by}
        case ResourceDeleted():
            return "update", {"status": "deleted", "deleted_at": envelope.occurred_at,
                              "updated_by": by}
        case ResourceArchived():
            return "update", {"status": "archived", "updated_by": by}
        case ResourceRestored():
            return "update", {"status": "active", "deleted_at": None, "updated_by": by}
        case _:
            return None


def _content(w: ResourceCreated | ResourceReplaced | ResourcePatched) -> dict[str, Any]:
    return {"type_version": w.type_version, "data": w.data, "tags": list(w.tags),
            "labels": w.labels, "annotations": w.annotations,
            "relationships": msgspec.to_builtins(w.relationships), "checksum": w.checksum,
            "size": w.size}


JSONB = ("data", "labels", "annotations", "relationships")


class ResourcesProjection(ReadModel):
    spec = SPEC
    stream_type = resource.DECIDER.stream_type
    # The runner's pipeline would rule out COPY: a run of changes gets one of its own instead.
    pipelined = False

    def apply(self, cur: psycopg.Cursor, items: Sequence[Item]) -> None:
        """The batch in runs: a run of creations in one insert_many (a bulk operation's chunk
        is hundreds of them: COPY), a run of changes in one pipeline (one round trip, not one
        each), each run written before the next, so a change finds a row the batch created."""
        changes = [(item, change) for item in items if item.envelope.stream_type == (
            self.stream_type) and (change := row_change(item.envelope)) is not None]
        for kind, run in groupby(changes, key=lambda c: c[1][0]):
            if kind == "insert":
                self.spec.insert_many(cur, self.table, [
                    self.new_row(item, **_stored(values)) for item, (_, values) in run])
                continue
            with cur.connection.pipeline():
                for item, (_, values) in run:
                    self.update(cur, item, **_stored(values))

    def match(self, cur: psycopg.Cursor, item: Item) -> None:
        self.apply(cur, [item])

    def runtime_indexes(self, cur: psycopg.Cursor, table: str) -> dict[str, sql.Composed]:
        """The expression indexes of the data paths the types declare ``indexed`` (the
        resource_types projection makes them on the live table as types are registered)."""
        from projections.resource_indexes import declared  # it names this module's TABLE

        return declared(cur, table)


def _stored(values: dict[str, Any]) -> dict[str, Any]:
    return {k: _json(v) if k in JSONB else v for k, v in values.items()}
