"""The audit trail's response bodies: the seed's Audit entry, a page of them, a verification."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

import msgspec

from api.platform.schemas import Out, PaginationInfo


class AuditActor(Out, frozen=True):
    kind: str  # user, api_key, oauth_client, operator, system
    id: str


class AuditMetadata(Out, frozen=True):
    ip_address: str
    user_agent: str
    request_id: str
    source: str  # api, web, system


class AuditEntryOut(Out, frozen=True):
    id: UUID  # the event's id
    organization_id: UUID
    actor: AuditActor
    action: str
    resource: str
    resource_id: str
    old_values: dict[str, Any] | None
    new_values: dict[str, Any] | None
    metadata: AuditMetadata
    timestamp: datetime
    event_type: str
    stream_id: UUID
    version: int
    position: int


class AuditPage(Out, frozen=True):
    data: list[AuditEntryOut]
    pagination: PaginationInfo


class ChainBreak(Out, frozen=True):
    kind: Literal["modified", "missing", "inserted", "checkpoint_forged", "checkpoint_mismatch"]
    position: int
    stream_id: UUID | None
    version: int | None
    seq: int | None


class ChainReport(Out, frozen=True):
    organization_id: UUID
    ok: bool
    events: int  # chained events recomputed
    head_position: int  # the position the chain has reached for the organization
    checkpoints: int  # signed checkpoints checked
    break_: ChainBreak | None = msgspec.field(default=None, name="break")


class VerifyOut(Out, frozen=True):
    ok: bool
    organizations: list[ChainReport]
