"""The roles read model in PostgreSQL: an organization's custom roles, guarded by version."""

from __future__ import annotations

import msgspec
import psycopg

from domain.role import decider as role_decider
from domain.role.events import RoleCreated, RoleDeleted, RoleUpdated
from projections.base import Item
from projections.readmodel import AnnouncedReadModel
from projections.table import Column, Index, Table

TABLE = "roles"
CHANNEL = "roles.changed"

SPEC = Table(TABLE, tenant="organization_id", columns=(
    Column("id", "uuid"),
    Column("organization_id", "uuid"),
    Column("name", "text"),
    Column("description", "text"),
    Column("permissions", "jsonb"),
    Column("status", "text"),
    Column("version", "bigint"),
    Column("created_position", "bigint"),
    Column("created_at", "timestamptz"),
    Column("updated_at", "timestamptz"),
), indexes=(Index("organization_idx", ("organization_id", "created_position")),))


class RolesProjection(AnnouncedReadModel):
    """After each batch the API processes hear which roles changed: keys held under them are
    evicted."""

    spec = SPEC
    stream_type = role_decider.DECIDER.stream_type
    CHANNEL = CHANNEL

    def match(self, cur: psycopg.Cursor, item: Item) -> None:
        match item.envelope.event:
            case RoleCreated() as c:
                self.insert(cur, item, organization_id=c.organization_id, name=c.name,
                            description=c.description,
                            permissions=msgspec.json.encode(c.permissions).decode(),
                            status="active")
            case RoleUpdated() as u:
                self.update(cur, item, name=u.name, description=u.description,
                            permissions=msgspec.json.encode(u.permissions).decode())
            case RoleDeleted():
                self.update(cur, item, status="deleted")
            case _:
                return
