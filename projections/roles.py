"""The roles read model in PostgreSQL: an organization's custom roles, guarded by version."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
import psycopg
import redis
from psycopg import sql

from domain.role.events import RoleCreated, RoleDeleted, RoleUpdated
from projections.base import Item
from projections.rows import announce, tenant_wall, update_if_newer

TABLE = "roles"
CHANNEL = "roles.changed"


def ddl(table: str = TABLE) -> list[sql.Composed]:
    t = sql.Identifier(table)
    return [
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} ("
            " id uuid PRIMARY KEY, organization_id uuid NOT NULL, name text NOT NULL,"
            " description text NOT NULL, permissions jsonb NOT NULL, status text NOT NULL,"
            " version bigint NOT NULL, created_position bigint NOT NULL,"
            " created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL)").format(t),
        sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (organization_id, created_position)").format(
            sql.Identifier(f"{table}_organization_idx"), t),
        *tenant_wall(table, "organization_id"),
    ]


class RolesProjection:
    name = "roles"
    aggregates: tuple[str, ...] = ("role",)

    def __init__(self, table: str = TABLE, redis_url: str | None = None,
                 channel: str = CHANNEL) -> None:
        self.table = sql.Identifier(table)
        self.redis = redis.Redis.from_url(redis_url) if redis_url else None
        self.channel = channel

    def after_commit(self, items: Sequence[Item]) -> None:
        """Tell the API processes which roles changed: keys held under them are evicted."""
        announce(self.redis, self.channel, items, "role")

    def apply(self, cur: psycopg.Cursor, items: Sequence[Item]) -> None:
        for item in items:
            if item.envelope.stream_type == "role":
                self._apply(cur, item)

    def _apply(self, cur: psycopg.Cursor, item: Item) -> None:
        e = item.envelope
        match e.event:
            case RoleCreated() as c:
                cur.execute(sql.SQL(
                    "INSERT INTO {} (id, organization_id, name, description, permissions, status,"
                    " version, created_position, created_at, updated_at)"
                    " VALUES (%s, %s, %s, %s, %s, 'active', %s, %s, %s, %s)"
                    " ON CONFLICT (id) DO NOTHING").format(self.table), (
                    e.stream_id, c.organization_id, c.name, c.description,
                    msgspec.json.encode(c.permissions).decode(), e.version, item.position,
                    e.occurred_at, e.occurred_at))
            case RoleUpdated() as u:
                update_if_newer(cur, self.table, e.stream_id, e.version, name=u.name,
                                description=u.description,
                                permissions=msgspec.json.encode(u.permissions).decode(),
                                updated_at=e.occurred_at)
            case RoleDeleted():
                update_if_newer(cur, self.table, e.stream_id, e.version, status="deleted",
                                updated_at=e.occurred_at)
            case _:
                return
