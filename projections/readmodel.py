"""The base of every PostgreSQL read model: a table spec, and a ``match`` saying what each
event of one stream type means for its rows."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from typing import ClassVar

import psycopg
import redis
from psycopg import sql

from projections.base import Item, Projection
from projections.rows import announce
from projections.table import Table


class ReadModel(Projection):
    """Subclasses set ``spec`` and ``stream_type`` and write ``match``; the projection is named
    after its table, and ``table`` may name a fresh copy of it (a rebuild fills one)."""

    spec: ClassVar[Table]
    stream_type: ClassVar[str]
    pipelined = True

    def __init__(self, table: str | None = None) -> None:
        self.name = self.spec.name
        self.aggregates: tuple[str, ...] = (self.stream_type,)
        self.table = sql.Identifier(table or self.spec.name)

    def apply(self, cur: psycopg.Cursor, items: Sequence[Item]) -> None:
        for item in items:
            if item.envelope.stream_type == self.stream_type:
                self.match(cur, item)

    def runtime_indexes(self, cur: psycopg.Cursor, table: str) -> dict[str, sql.Composed]:
        """The indexes that events make on this read model's table beyond its spec's, by the
        suffix of their name (``<table>_<suffix>``), as DDL on ``table``: a rebuild makes them
        on its fresh copy and renames them with it. None but the spec's by default."""
        return {}

    @abstractmethod
    def match(self, cur: psycopg.Cursor, item: Item) -> None:
        """Write what ``item``'s event means; an event that means nothing must not fail."""

    def insert(self, cur: psycopg.Cursor, item: Item, **values: object) -> None:
        """The stream's row, created by its first event (ignored if it exists)."""
        self.spec.insert(cur, self.table, self.new_row(item, **values))

    @staticmethod
    def new_row(item: Item, **values: object) -> dict[str, object]:
        """The row ``insert`` writes, for a projection that inserts a batch's rows at once."""
        e = item.envelope
        return {"id": e.stream_id, **values, "version": e.version,
                "created_position": item.position, "created_at": e.occurred_at,
                "updated_at": e.occurred_at}

    def update(self, cur: psycopg.Cursor, item: Item, **values: object) -> None:
        """Change the stream's row if the event is newer than it; the version always moves."""
        e = item.envelope
        self.spec.update(cur, self.table, e.stream_id, e.version,
                         {**values, "updated_at": e.occurred_at})


class AnnouncedReadModel(ReadModel):
    """A read model whose changed rows the API processes' caches must evict: the ids of the
    streams a committed batch changed are published on ``channel`` (infra/invalidation.py)."""

    CHANNEL: ClassVar[str]

    def __init__(self, table: str | None = None, redis_url: str | None = None,
                 channel: str | None = None) -> None:
        super().__init__(table)
        self.redis = redis.Redis.from_url(redis_url) if redis_url else None
        self.channel = channel or self.CHANNEL

    def after_commit(self, items: Sequence[Item]) -> None:
        announce(self.redis, self.channel, items, self.stream_type)
