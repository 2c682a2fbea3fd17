"""The organizations read model in PostgreSQL: one row per organization, guarded by version."""

from __future__ import annotations

import msgspec
import psycopg

from domain.organization import decider as organization_decider
from domain.organization.events import (
    OrganizationCreated,
    OrganizationDeleted,
    OrganizationPlanChanged,
    OrganizationQuotaPolicyChanged,
    OrganizationRateLimitChanged,
    OrganizationReactivated,
    OrganizationRenamed,
    OrganizationSettingsUpdated,
    OrganizationSuspended,
)
from projections.base import Item
from projections.readmodel import AnnouncedReadModel
from projections.table import Column, Index, Table

TABLE = "organizations"
CHANNEL = "organizations.changed"

SPEC = Table(TABLE, tenant="id", columns=(
    Column("id", "uuid"),
    Column("name", "text"),
    Column("slug", "text"),
    Column("plan", "text"),
    Column("settings", "jsonb"),
    Column("status", "text"),
    Column("version", "bigint"),
    Column("position", "bigint"),  # of the last event applied
    Column("created_position", "bigint"),
    Column("created_at", "timestamptz"),
    Column("updated_at", "timestamptz"),
    Column("deleted_at", "timestamptz", null=True),
    Column("rate_limit", "jsonb", null=True, added=True),
    Column("quota_policy", "text", null=True, added=True),  # the operator's override
), indexes=(Index("created_position_idx", ("created_position",)),
            Index("slug_idx", ("slug",))))


def _json(value: object) -> str:
    return msgspec.json.encode(value).decode()


class OrganizationsProjection(AnnouncedReadModel):
    """After each batch the API processes hear which organizations changed (policy caches)."""

    spec = SPEC
    stream_type = organization_decider.DECIDER.stream_type
    CHANNEL = CHANNEL

    def match(self, cur: psycopg.Cursor, item: Item) -> None:
        e = item.envelope
        match e.event:
            case OrganizationCreated(name=name, slug=slug, plan=plan, settings=settings):
                self.insert(cur, item, name=name, slug=slug, plan=plan, settings=_json(settings),
                            status="active", position=item.position)
            case OrganizationRenamed(name=name):
                self.update(cur, item, name=name)
            case OrganizationPlanChanged(plan=plan):
                self.update(cur, item, plan=plan)
            case OrganizationSettingsUpdated(settings=settings):
                self.update(cur, item, settings=_json(settings))
            case OrganizationSuspended():
                self.update(cur, item, status="suspended")
            case OrganizationReactivated():
                self.update(cur, item, status="active")
            case OrganizationDeleted():
                self.update(cur, item, status="deleted", deleted_at=e.occurred_at)
            case OrganizationRateLimitChanged(rate_limit=limit):
                self.update(cur, item, rate_limit=None if limit is None else _json(limit))
            case OrganizationQuotaPolicyChanged(quota_policy=policy):
                self.update(cur, item, quota_policy=policy)
            case _:
                return

    def update(self, cur: psycopg.Cursor, item: Item, **values: object) -> None:
        super().update(cur, item, **values, position=item.position)
