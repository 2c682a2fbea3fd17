"""The api_keys read model in PostgreSQL, and cache invalidation for the API processes.

After each committed batch the projector publishes the ids of changed keys on a Redis
channel; every API process drops them from its in-memory key cache (authentication never
needs a database round trip on the hot path, and a revoked key stops working at once).
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
import psycopg
import redis
from psycopg import sql

from domain.apikey.events import ApiKeyCreated, ApiKeyRevoked, ApiKeyRolled
from projections.base import Item
from projections.rows import announce, tenant_wall, update_if_newer

TABLE = "api_keys"
CHANNEL = "apikeys.changed"


def ddl(table: str = TABLE) -> list[sql.Composed]:
    t = sql.Identifier(table)
    return [
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} ("
            " id uuid PRIMARY KEY, organization_id uuid NOT NULL, name text NOT NULL,"
            " environment text NOT NULL, hashed_key text NOT NULL,"
            " previous_hashed_key text NOT NULL DEFAULT '', previous_valid_until timestamptz,"
            " permissions jsonb NOT NULL, rate_limit jsonb, status text NOT NULL,"
            " expires_at timestamptz, created_by text NOT NULL, version bigint NOT NULL,"
            " created_position bigint NOT NULL, created_at timestamptz NOT NULL,"
            " updated_at timestamptz NOT NULL, revoked_at timestamptz)").format(t),
        sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS require_signature boolean NOT NULL"
                " DEFAULT false").format(t),
        sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS role text").format(t),
        sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (organization_id, created_position)").format(
            sql.Identifier(f"{table}_organization_idx"), t),
        *tenant_wall(table, "organization_id"),
    ]


class ApiKeysProjection:
    name = "api_keys"
    aggregates: tuple[str, ...] = ("apikey",)

    def __init__(self, table: str = TABLE, redis_url: str | None = None,
                 channel: str = CHANNEL) -> None:
        self.table = sql.Identifier(table)
        self.redis = redis.Redis.from_url(redis_url) if redis_url else None
        self.channel = channel

    def apply(self, cur: psycopg.Cursor, items: Sequence[Item]) -> None:
        for item in items:
            if item.envelope.stream_type == "apikey":
                self._apply(cur, item)

    def after_commit(self, items: Sequence[Item]) -> None:
        announce(self.redis, self.channel, items, "apikey")

    def _apply(self, cur: psycopg.Cursor, item: Item) -> None:
        e = item.envelope
        match e.event:
            case ApiKeyCreated() as c:
                cur.execute(sql.SQL(
                    "INSERT INTO {} (id, organization_id, name, environment, hashed_key,"
                    " permissions, rate_limit, status, expires_at, created_by, version,"
                    " created_position, created_at, updated_at, require_signature, role)"
                    " VALUES (%s, %s, %s, %s, %s, %s,"
                    " %s, 'active', %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING"
                ).format(self.table), (
                    e.stream_id, c.organization_id, c.name, c.environment, c.hashed_key,
                    msgspec.json.encode(c.permissions).decode(),
                    msgspec.json.encode(c.rate_limit).decode() if c.rate_limit else None,
                    c.expires_at, c.created_by, e.version, item.position, e.occurred_at,
                    e.occurred_at, c.require_signature, c.role))
            case ApiKeyRolled() as r:
                self._update(cur, item, hashed_key=r.hashed_key,
                             previous_hashed_key=r.previous_hashed_key,
                             previous_valid_until=r.previous_valid_until)
            case ApiKeyRevoked():
                self._update(cur, item, status="revoked", revoked_at=e.occurred_at)
            case _:
                return

    def _update(self, cur: psycopg.Cursor, item: Item, **columns: object) -> None:
        e = item.envelope
        update_if_newer(cur, self.table, e.stream_id, e.version, **columns,
                        updated_at=e.occurred_at)
