"""The oauth_clients read model in PostgreSQL (never the secret's hash: it is not read here)."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
import psycopg
from psycopg import sql

from domain.oauthclient.events import (
    OAuthClientDeleted,
    OAuthClientRegistered,
    OAuthClientSecretRotated,
    OAuthClientUpdated,
)
from projections.base import Item
from projections.rows import tenant_wall, update_if_newer

TABLE = "oauth_clients"


def ddl(table: str = TABLE) -> list[sql.Composed]:
    t = sql.Identifier(table)
    return [
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} ("
            " id uuid PRIMARY KEY, organization_id uuid NOT NULL, name text NOT NULL,"
            " redirect_uris jsonb NOT NULL, scopes jsonb NOT NULL, grant_types jsonb NOT NULL,"
            " status text NOT NULL, created_by text NOT NULL, version bigint NOT NULL,"
            " created_position bigint NOT NULL, created_at timestamptz NOT NULL,"
            " updated_at timestamptz NOT NULL, secret_rotated_at timestamptz)").format(t),
        sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (organization_id, created_position)").format(
            sql.Identifier(f"{table}_organization_idx"), t),
        *tenant_wall(table, "organization_id"),
    ]


def _json(value: object) -> str:
    return msgspec.json.encode(value).decode()


class OAuthClientsProjection:
    name = "oauth_clients"
    aggregates: tuple[str, ...] = ("oauthclient",)

    def __init__(self, table: str = TABLE) -> None:
        self.table = sql.Identifier(table)

    def apply(self, cur: psycopg.Cursor, items: Sequence[Item]) -> None:
        for item in items:
            if item.envelope.stream_type == "oauthclient":
                self._apply(cur, item)

    def after_commit(self, items: Sequence[Item]) -> None:
        return None

    def _apply(self, cur: psycopg.Cursor, item: Item) -> None:
        e = item.envelope
        match e.event:
            case OAuthClientRegistered() as r:
                cur.execute(sql.SQL(
                    "INSERT INTO {} (id, organization_id, name, redirect_uris, scopes,"
                    " grant_types, status, created_by, version, created_position, created_at,"
                    " updated_at) VALUES (%s, %s, %s, %s, %s, %s, 'active', %s, %s, %s, %s, %s)"
                    " ON CONFLICT (id) DO NOTHING").format(self.table), (
                    e.stream_id, r.organization_id, r.name, _json(r.redirect_uris),
                    _json(r.scopes), _json(r.grant_types), r.created_by, e.version,
                    item.position, e.occurred_at, e.occurred_at))
            case OAuthClientUpdated() as u:
                changes: dict[str, object] = {}
                if u.name is not None:
                    changes["name"] = u.name
                for column in ("redirect_uris", "scopes", "grant_types"):
                    if (value := getattr(u, column)) is not None:
                        changes[column] = _json(value)
                self._update(cur, item, **changes)
            case OAuthClientSecretRotated():
                self._update(cur, item, secret_rotated_at=e.occurred_at)
            case OAuthClientDeleted():
                self._update(cur, item, status="deleted")
            case _:
                return

    def _update(self, cur: psycopg.Cursor, item: Item, **columns: object) -> None:
        e = item.envelope
        update_if_newer(cur, self.table, e.stream_id, e.version, **columns,
                        updated_at=e.occurred_at)
