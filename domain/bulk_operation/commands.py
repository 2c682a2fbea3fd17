"""Bulk operation commands: submit the items, record a chunk's results."""

from __future__ import annotations

from uuid import UUID

import msgspec

from domain.bulk_operation.events import ItemResult
from domain.permissions import Permissions
from domain.resource.writes import ResourceWrite


class SubmitBulkOperation(msgspec.Struct, frozen=True, kw_only=True):
    """``chunk_bytes``: the most a chunk's encoded items may take (the store's event limit
    less the envelope's room), so that every ItemsStaged event can be stored."""

    organization_id: UUID
    created_by: str
    items: tuple[ResourceWrite, ...]
    chunk_bytes: int
    grants: tuple[Permissions, ...] | None = None


class RecordChunk(msgspec.Struct, frozen=True, kw_only=True):
    chunk: int
    results: tuple[ItemResult, ...]


BulkOperationCommand = SubmitBulkOperation | RecordChunk
