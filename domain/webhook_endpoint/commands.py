"""Webhook endpoint commands; secrets arrive sealed and times arrive in the command."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from domain.webhook_endpoint.events import DisableReason


class RegisterEndpoint(msgspec.Struct, frozen=True, kw_only=True):
    organization_id: UUID
    url: str
    event_types: tuple[str, ...]
    sealed_secret: str
    description: str = ""
    metadata: dict[str, Any] = msgspec.field(default_factory=dict)
    active: bool = True


class UpdateEndpoint(msgspec.Struct, frozen=True, kw_only=True):
    url: str | None = None
    event_types: tuple[str, ...] | None = None
    description: str | None = None
    metadata: dict[str, Any] | None = None


class RollSecret(msgspec.Struct, frozen=True, kw_only=True):
    sealed_secret: str
    previous_until: datetime


class DisableEndpoint(msgspec.Struct, frozen=True, kw_only=True):
    reason: DisableReason
    detail: str = ""


class EnableEndpoint(msgspec.Struct, frozen=True, kw_only=True):
    pass


class DeleteEndpoint(msgspec.Struct, frozen=True, kw_only=True):
    pass


class SendTest(msgspec.Struct, frozen=True, kw_only=True):
    test_id: UUID


class Redeliver(msgspec.Struct, frozen=True, kw_only=True):
    delivery_id: UUID


class Replay(msgspec.Struct, frozen=True, kw_only=True):
    from_position: int | None = None
    from_time: datetime | None = None


WebhookEndpointCommand = (RegisterEndpoint | UpdateEndpoint | RollSecret | DisableEndpoint
                          | EnableEndpoint | DeleteEndpoint | SendTest | Redeliver | Replay)
