"""The ClickHouse ``users`` table the usage meter counts: one row per (user, version), collapsed
to each user's newest version by ReplacingMergeTree(version), saying whether it is removed.

Removal is terminal (the user decider refuses every command on a removed user), so the newest
event of a user's stream alone says whether it counts: no fold of the stream, no
read-modify-write. A redelivered or replayed batch writes the very same rows again.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import psycopg
from clickhouse_connect.driver.client import Client

from domain.user import decider as user
from domain.user.events import UserRemoved
from infra.clickhouse import Inserter
from projections.base import CLICKHOUSE_LINGER_S, Item, Projection

NAME = "clickhouse_users"
COLUMNS = ["organization_id", "id", "version", "position", "removed"]


def rows(items: Sequence[Item]) -> list[list[object]]:
    """Each user's newest event in ``items``, as its row."""
    newest: dict[UUID, Item] = {}
    for item in items:
        e = item.envelope
        if e.stream_type == user.DECIDER.stream_type and (
                e.stream_id not in newest or newest[e.stream_id].envelope.version < e.version):
            newest[e.stream_id] = item
    return [[i.envelope.organization_id, stream_id, i.envelope.version, i.position,
             isinstance(i.envelope.event, UserRemoved)] for stream_id, i in newest.items()]


class UsersClickHouseProjection(Projection):
    name = NAME
    linger_s: float | None = CLICKHOUSE_LINGER_S
    aggregates: tuple[str, ...] = (user.DECIDER.stream_type,)

    def __init__(self, client: Client, table: str = "users") -> None:
        self.client, self.table = client, table
        self.inserter = Inserter(client, table, COLUMNS)

    def apply(self, cur: psycopg.Cursor, items: Sequence[Item]) -> None:
        if found := rows(items):
            self.inserter.insert(found)
