"""The oauth_clients read model in PostgreSQL (never the secret's hash: it is not read here)."""

from __future__ import annotations

import msgspec
import psycopg

from domain.oauthclient import decider as oauthclient_decider
from domain.oauthclient.events import (
    OAuthClientDeleted,
    OAuthClientRegistered,
    OAuthClientSecretRotated,
    OAuthClientUpdated,
)
from projections.base import Item
from projections.readmodel import ReadModel
from projections.table import Column, Index, Table

TABLE = "oauth_clients"

SPEC = Table(TABLE, tenant="organization_id", columns=(
    Column("id", "uuid"),
    Column("organization_id", "uuid"),
    Column("name", "text"),
    Column("redirect_uris", "jsonb"),
    Column("scopes", "jsonb"),
    Column("grant_types", "jsonb"),
    Column("status", "text"),
    Column("created_by", "text"),
    Column("version", "bigint"),
    Column("created_position", "bigint"),
    Column("created_at", "timestamptz"),
    Column("updated_at", "timestamptz"),
    Column("secret_rotated_at", "timestamptz", null=True),
), indexes=(Index("organization_idx", ("organization_id", "created_position")),))


def _json(value: object) -> str:
    return msgspec.json.encode(value).decode()


class OAuthClientsProjection(ReadModel):
    spec = SPEC
    stream_type = oauthclient_decider.DECIDER.stream_type

    def match(self, cur: psycopg.Cursor, item: Item) -> None:
        e = item.envelope
        match e.event:
            case OAuthClientRegistered() as r:
                self.insert(cur, item, organization_id=r.organization_id, name=r.name,
                            redirect_uris=_json(r.redirect_uris), scopes=_json(r.scopes),
                            grant_types=_json(r.grant_types), status="active",
                            created_by=r.created_by)
            case OAuthClientUpdated() as u:
                changes: dict[str, object] = {}
                if u.name is not None:
                    changes["name"] = u.name
                for column in ("redirect_uris", "scopes", "grant_types"):
                    if (value := getattr(u, column)) is not None:
                        changes[column] = _json(value)
                self.update(cur, item, **changes)
            case OAuthClientSecretRotated():
                self.update(cur, item, secret_rotated_at=e.occurred_at)
            case OAuthClientDeleted():
                self.update(cur, item, status="deleted")
            case _:
                return
