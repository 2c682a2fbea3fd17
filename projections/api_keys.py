"""The api_keys read model in PostgreSQL, and cache invalidation for the API processes.

After each committed batch the projector publishes the ids of changed keys on a Redis
channel; every API process drops them from its in-memory key cache (authentication never
needs a database round trip on the hot path, and a revoked key stops working at once).
"""

from __future__ import annotations

import msgspec
import psycopg

from domain.apikey import decider as apikey_decider
from domain.apikey.events import ApiKeyCreated, ApiKeyRevoked, ApiKeyRolled
from projections.base import Item
from projections.readmodel import AnnouncedReadModel
from projections.table import Column, Index, Table

TABLE = "api_keys"
CHANNEL = "apikeys.changed"

SPEC = Table(TABLE, tenant="organization_id", columns=(
    Column("id", "uuid"),
    Column("organization_id", "uuid"),
    Column("name", "text"),
    Column("environment", "text"),
    Column("hashed_key", "text"),
    Column("previous_hashed_key", "text", default="''"),
    Column("previous_valid_until", "timestamptz", null=True),
    Column("permissions", "jsonb"),
    Column("rate_limit", "jsonb", null=True),
    Column("status", "text"),
    Column("expires_at", "timestamptz", null=True),
    Column("created_by", "text"),
    Column("version", "bigint"),
    Column("created_position", "bigint"),
    Column("created_at", "timestamptz"),
    Column("updated_at", "timestamptz"),
    Column("revoked_at", "timestamptz", null=True),
    Column("require_signature", "boolean", default="false", added=True),
    Column("role", "text", null=True, added=True),
), indexes=(Index("organization_idx", ("organization_id", "created_position")),))


class ApiKeysProjection(AnnouncedReadModel):
    spec = SPEC
    stream_type = apikey_decider.DECIDER.stream_type
    CHANNEL = CHANNEL

    def match(self, cur: psycopg.Cursor, item: Item) -> None:
        e = item.envelope
        match e.event:
            case ApiKeyCreated() as c:
                self.insert(
                    cur, item, organization_id=c.organization_id, name=c.name,
                    environment=c.environment, hashed_key=c.hashed_key,
                    permissions=msgspec.json.encode(c.permissions).decode(),
                    rate_limit=msgspec.json.encode(c.rate_limit).decode() if c.rate_limit else None,
                    status="active", expires_at=c.expires_at, created_by=c.created_by,
                    require_signature=c.require_signature, role=c.role)
            case ApiKeyRolled() as r:
                self.update(cur, item, hashed_key=r.hashed_key,
                            previous_hashed_key=r.previous_hashed_key,
                            previous_valid_until=r.previous_valid_until)
            case ApiKeyRevoked():
                self.update(cur, item, status="revoked", revoked_at=e.occurred_at)
            case _:
                return
