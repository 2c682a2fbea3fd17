"""Replay's response bodies: stored events as auditors read them, and a stream's past state."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from api.audit.schemas import AuditActor
from api.platform.schemas import Out, PaginationInfo


class EventOut(Out, frozen=True):
    position: int
    event_id: UUID
    type: str
    stream_id: UUID
    stream_type: str
    version: int
    organization_id: UUID
    occurred_at: datetime
    actor: AuditActor
    request_id: str
    correlation_id: str
    causation_id: str
    data: dict[str, Any]  # the event's fields, credentials redacted


class EventPage(Out, frozen=True):
    data: list[EventOut]
    pagination: PaginationInfo


class StreamHistory(Out, frozen=True):
    stream_id: UUID
    data: list[EventOut]  # oldest first; the cursor is the last version shown
    pagination: PaginationInfo


class StreamState(Out, frozen=True):
    stream_id: UUID
    stream_type: str
    organization_id: UUID
    version: int
    created_at: datetime
    updated_at: datetime
    state: dict[str, Any]  # folded with the stream type's decider, credentials redacted
