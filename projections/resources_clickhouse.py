"""The analysts' ``resources`` table in ClickHouse: each resource's latest state, one row per
(resource, version), collapsed to the newest version by ReplacingMergeTree(version).

A status change (deleted, archived, restored) carries no content, and ClickHouse is never
read-modified-written: for each resource a batch touches, the row is the resource's stream
folded from the event store up to the newest version in the batch, so a redelivered or
replayed batch writes the very same row again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import msgspec
import psycopg
from clickhouse_connect.driver.client import Client

from domain.envelope import Envelope
from domain.resource import decider as resource
from domain.resource.events import ResourceDeleted, ResourceRestored
from infra.clickhouse import Inserter
from infra.eventstore import EventStore
from projections.base import CLICKHOUSE_LINGER_S, Item, Projection

COLUMNS = ["organization_id", "type", "id", "version", "position", "type_version",
           "external_key", "status", "data", "tags", "labels", "annotations", "relationships",
           "checksum", "size", "created_by", "updated_by", "created_at", "updated_at",
           "deleted_at"]


def _actor(e: Envelope) -> str:
    return f"{e.actor.kind}:{e.actor.id}"


def row(stream_id: UUID, envelopes: Sequence[Envelope], position: int) -> list[object] | None:
    """The resource after ``envelopes`` (its stream from version 1), as a table row."""
    state, deleted_at = resource.INITIAL, None
    for e in envelopes:
        state = resource.evolve(state, e.event)  # type: ignore[arg-type]
        if isinstance(e.event, ResourceDeleted):
            deleted_at = e.occurred_at
        elif isinstance(e.event, ResourceRestored):
            deleted_at = None
    if state.status == "absent" or state.organization_id is None:
        return None
    first, last = envelopes[0], envelopes[-1]
    return [state.organization_id, state.resource_type, stream_id, last.version, position,
            state.type_version, state.external_key, state.status, _json(state.data),
            list(state.tags), state.labels, state.annotations, _json(state.relationships),
            state.checksum, state.size, _actor(first), _actor(last), first.occurred_at,
            last.occurred_at, deleted_at]


def _json(value: Any) -> str:
    return msgspec.json.encode(value).decode()


class ResourcesClickHouseProjection(Projection):
    name = "clickhouse_resources"
    linger_s: float | None = CLICKHOUSE_LINGER_S
    aggregates: tuple[str, ...] = (resource.DECIDER.stream_type,)

    def __init__(self, client: Client, store: EventStore, table: str = "resources") -> None:
        self.client, self.store, self.table = client, store, table
        self.inserter = Inserter(client, table, COLUMNS)

    def apply(self, cur: psycopg.Cursor, items: Sequence[Item]) -> None:
        newest: dict[UUID, Item] = {}
        for item in items:
            e = item.envelope
            if e.stream_type == self.aggregates[0] and (
                    e.stream_id not in newest or newest[e.stream_id].envelope.version < e.version):
                newest[e.stream_id] = item
        rows = [r for stream_id, item in newest.items() if (r := row(
            stream_id, self.store.load(stream_id, lte=item.envelope.version),
            item.position)) is not None]
        if rows:
            self.inserter.insert(rows)
