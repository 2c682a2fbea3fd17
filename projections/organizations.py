"""The organizations read model in PostgreSQL: one row per organization, guarded by version."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
import psycopg
import redis
from psycopg import sql

from domain.organization.events import (
    OrganizationCreated,
    OrganizationDeleted,
    OrganizationPlanChanged,
    OrganizationRateLimitChanged,
    OrganizationReactivated,
    OrganizationRenamed,
    OrganizationSettingsUpdated,
    OrganizationSuspended,
)
from projections.base import Item
from projections.rows import announce, tenant_wall, update_if_newer

TABLE = "organizations"
CHANNEL = "organizations.changed"


def ddl(table: str = TABLE) -> list[sql.Composed]:
    t = sql.Identifier(table)
    return [
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} ("
            " id uuid PRIMARY KEY, name text NOT NULL, slug text NOT NULL, plan text NOT NULL,"
            " settings jsonb NOT NULL, status text NOT NULL, version bigint NOT NULL,"
            " position bigint NOT NULL, created_position bigint NOT NULL,"
            " created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL,"
            " deleted_at timestamptz)").format(t),
        # Added after the table first shipped: existing databases get it on their next migrate.
        sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS rate_limit jsonb").format(t),
        sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (created_position)").format(
            sql.Identifier(f"{table}_created_position_idx"), t),
        sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (slug)").format(
            sql.Identifier(f"{table}_slug_idx"), t),
        *tenant_wall(table, "id"),
    ]


class OrganizationsProjection:
    name = "organizations"
    aggregates: tuple[str, ...] = ("organization",)

    def __init__(self, table: str = TABLE, redis_url: str | None = None,
                 channel: str = CHANNEL) -> None:
        self.table = sql.Identifier(table)
        self.redis = redis.Redis.from_url(redis_url) if redis_url else None
        self.channel = channel

    def after_commit(self, items: Sequence[Item]) -> None:
        """Tell the API processes which organizations changed (their policy caches evict)."""
        announce(self.redis, self.channel, items, "organization")

    def apply(self, cur: psycopg.Cursor, items: Sequence[Item]) -> None:
        for item in items:
            if item.envelope.stream_type == "organization":
                self._apply(cur, item)

    def _apply(self, cur: psycopg.Cursor, item: Item) -> None:
        e = item.envelope
        match e.event:
            case OrganizationCreated(name=name, slug=slug, plan=plan, settings=settings):
                cur.execute(sql.SQL(
                    "INSERT INTO {} (id, name, slug, plan, settings, status, version, position,"
                    " created_position, created_at, updated_at)"
                    " VALUES (%s, %s, %s, %s, %s, 'active', %s, %s, %s, %s, %s)"
                    " ON CONFLICT (id) DO NOTHING").format(self.table),
                    (e.stream_id, name, slug, plan, msgspec.json.encode(settings).decode(),
                     e.version, item.position, item.position, e.occurred_at, e.occurred_at))
            case OrganizationRenamed(name=name):
                self._update(cur, item, name=name)
            case OrganizationPlanChanged(plan=plan):
                self._update(cur, item, plan=plan)
            case OrganizationSettingsUpdated(settings=settings):
                self._update(cur, item, settings=msgspec.json.encode(settings).decode())
            case OrganizationSuspended():
                self._update(cur, item, status="suspended")
            case OrganizationReactivated():
                self._update(cur, item, status="active")
            case OrganizationDeleted():
                self._update(cur, item, status="deleted", deleted_at=e.occurred_at)
            case OrganizationRateLimitChanged(rate_limit=limit):
                self._update(cur, item, rate_limit=None if limit is None
                             else msgspec.json.encode(limit).decode())
            case _:
                return

    def _update(self, cur: psycopg.Cursor, item: Item, **columns: object) -> None:
        e = item.envelope
        update_if_newer(cur, self.table, e.stream_id, e.version, **columns,
                        position=item.position, updated_at=e.occurred_at)
