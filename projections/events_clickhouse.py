"""The analysts' ``events`` table in ClickHouse: every event, keyed by (stream, version).

ClickHouse has no transactions: rows are written first, then the runner commits the offsets
in PostgreSQL. A redelivered event lands on the same ReplacingMergeTree key and collapses.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
import psycopg
from clickhouse_connect.driver.client import Client

from domain.deciders import AGGREGATES
from infra.clickhouse import Inserter
from projections.base import CLICKHOUSE_LINGER_S, Item, Projection

COLUMNS = [
    "organization_id", "stream_id", "stream_type", "version", "position", "event_id",
    "event_type", "occurred_at", "actor_kind", "actor_id", "request_id", "correlation_id",
    "payload",
]


# Credentials stay in the event store; analysts get the fact without the secret material.
REDACTED = frozenset({"password_hash", "secret_ciphertext"})


def payload(event: object) -> str:
    data = msgspec.to_builtins(event)
    if REDACTED & data.keys():
        data = {k: ("[redacted]" if k in REDACTED else v) for k, v in data.items()}
        return msgspec.json.encode(data).decode()
    return msgspec.json.encode(event).decode()


def row(item: Item) -> list[object]:
    e = item.envelope
    return [
        e.organization_id, e.stream_id, e.stream_type, e.version, item.position, e.event_id,
        e.event_type, e.occurred_at, e.actor.kind, e.actor.id, e.request_id,
        e.correlation_id, payload(e.event),
    ]


class EventsProjection(Projection):
    name = "clickhouse_events"
    linger_s: float | None = CLICKHOUSE_LINGER_S
    aggregates: tuple[str, ...] = AGGREGATES

    def __init__(self, client: Client, table: str = "events") -> None:
        self.client = client
        self.table = table
        self.inserter = Inserter(client, table, COLUMNS)

    def apply(self, cur: psycopg.Cursor, items: Sequence[Item]) -> None:
        if items:
            self.inserter.insert([row(i) for i in items])
