"""The resource_types read model in PostgreSQL: each type with its current schema and every
type version's schema (resources written under an older version are validated against it)."""

from __future__ import annotations

from typing import Any

import msgspec
import psycopg
from psycopg import sql

from domain.resource_type import decider as resource_type
from domain.resource_type.events import (
    DescriptionChanged,
    ResourceTypeRegistered,
    SchemaExtended,
    VersionAdded,
)
from projections.base import Item
from projections.readmodel import ReadModel
from projections.resource_indexes import ensure
from projections.table import Column, Index, Table

TABLE = "resource_types"

SPEC = Table(TABLE, tenant="organization_id", columns=(
    Column("id", "uuid"),
    Column("organization_id", "uuid"),
    Column("name", "text"),
    Column("description", "text"),
    Column("indexed", "jsonb"),
    Column("schema", "jsonb"),  # the current type version's
    Column("type_version", "integer"),
    Column("versions", "jsonb"),  # {"1": schema, "2": schema, ...}
    Column("version", "bigint"),
    Column("created_position", "bigint"),
    Column("created_at", "timestamptz"),
    Column("updated_at", "timestamptz"),
), indexes=(Index("organization_idx", ("organization_id", "created_position")),
            Index("name_idx", ("organization_id", "name"))))


def _json(value: object) -> str:
    return msgspec.json.encode(value).decode()


class ResourceTypesProjection(ReadModel):
    spec = SPEC
    stream_type = resource_type.DECIDER.stream_type

    def match(self, cur: psycopg.Cursor, item: Item) -> None:
        match item.envelope.event:
            case ResourceTypeRegistered() as r:
                self.insert(cur, item, organization_id=r.organization_id, name=r.name,
                            description=r.description, indexed=_json(r.indexed),
                            schema=_json(r.schema), type_version=r.type_version,
                            versions=_json({str(r.type_version): r.schema}))
                ensure(cur, r.indexed)
            case SchemaExtended() | VersionAdded() as s:
                versions = {**self._versions(cur, item), str(s.type_version): s.schema}
                latest = max(map(int, versions))
                self.update(cur, item, schema=_json(versions[str(latest)]), type_version=latest,
                            versions=_json(versions))
            case DescriptionChanged() as d:
                self.update(cur, item, description=d.description)
            case _:
                return

    def _versions(self, cur: psycopg.Cursor, item: Item) -> dict[str, Any]:
        """The row's schemas so far: read in the batch's own transaction, so the write after
        it is exactly-once like every other (an older event finds the version guard)."""
        cur.execute(sql.SQL("SELECT versions FROM {} WHERE id = %s").format(self.table),
                    (item.envelope.stream_id,))
        row = cur.fetchone()
        found = row[0] if row is not None else None
        return dict(found) if isinstance(found, dict) else {}
