"""The webhook_endpoints read model in PostgreSQL, for the API (never a secret: only when it
was last rolled). Delivery health (failures, last success) is the sender's, in webhook_targets."""

from __future__ import annotations

import msgspec
import psycopg

from domain.webhook_endpoint import decider as webhook_endpoint
from domain.webhook_endpoint.events import (
    EndpointDeleted,
    EndpointDisabled,
    EndpointEnabled,
    EndpointRegistered,
    EndpointUpdated,
    SecretRolled,
)
from projections.base import Item
from projections.readmodel import ReadModel
from projections.table import Column, Index, Table

TABLE = "webhook_endpoints"

SPEC = Table(TABLE, tenant="organization_id", columns=(
    Column("id", "uuid"),
    Column("organization_id", "uuid"),
    Column("url", "text"),
    Column("event_types", "jsonb"),
    Column("description", "text"),
    Column("metadata", "jsonb"),
    Column("status", "text"),  # active, disabled, deleted
    Column("disabled_reason", "text", null=True),
    Column("secret_rolled_at", "timestamptz", null=True),
    Column("version", "bigint"),
    Column("created_position", "bigint"),
    Column("created_at", "timestamptz"),
    Column("updated_at", "timestamptz"),
), indexes=(Index("organization_idx", ("organization_id", "created_position")),))


def _json(value: object) -> str:
    return msgspec.json.encode(value).decode()


class WebhookEndpointsProjection(ReadModel):
    spec = SPEC
    stream_type = webhook_endpoint.DECIDER.stream_type

    def match(self, cur: psycopg.Cursor, item: Item) -> None:
        e = item.envelope
        match e.event:
            case EndpointRegistered() as r:
                self.insert(cur, item, organization_id=r.organization_id, url=r.url,
                            event_types=_json(r.event_types), description=r.description,
                            metadata=_json(r.metadata),
                            status="active" if r.active else "disabled",
                            disabled_reason=None if r.active else "manual")
            case EndpointUpdated() as u:
                changes: dict[str, object] = {}
                for column in ("url", "description"):
                    if (value := getattr(u, column)) is not None:
                        changes[column] = value
                for column in ("event_types", "metadata"):
                    if (value := getattr(u, column)) is not None:
                        changes[column] = _json(value)
                self.update(cur, item, **changes)
            case SecretRolled():
                self.update(cur, item, secret_rolled_at=e.occurred_at)
            case EndpointDisabled() as d:
                self.update(cur, item, status="disabled", disabled_reason=d.reason)
            case EndpointEnabled():
                self.update(cur, item, status="active", disabled_reason=None)
            case EndpointDeleted():
                self.update(cur, item, status="deleted")
            case _:
                self.update(cur, item)  # a request (test, redelivery, replay): the version moves
