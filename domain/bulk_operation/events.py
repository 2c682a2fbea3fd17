"""Bulk operation events, tagged ``bulk_operation.<Name>``.

A submission is one ``Submitted`` and its items in ``ItemsStaged`` chunks, all in one append:
10,000 items do not fit in one event under MAX_EVENT_BYTES, and a chunk is also the unit the
worker applies (its item writes and its ``ChunkApplied`` commit together).
"""

from __future__ import annotations

from uuid import UUID

import msgspec

from domain.permissions import Permissions
from domain.resource.writes import ResourceWrite


class ItemResult(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The seed's BulkOperationResult: ``error`` is the catalog reason of a failed item."""

    index: int
    success: bool
    resource_id: UUID | None = None
    version: int | None = None
    error: str | None = None
    message: str | None = None


class _Event(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    pass


class BulkOperationSubmitted(_Event, tag="bulk_operation.Submitted", frozen=True,
                             kw_only=True):
    organization_id: UUID
    total_count: int
    chunk_count: int
    created_by: str  # "<actor kind>:<actor id>", as a resource's createdBy
    # The submitter's permission sets when their filters bind its writes (the worker checks
    # each item's resource against them); None: no filter applies.
    grants: tuple[Permissions, ...] | None = None


class ItemsStaged(_Event, tag="bulk_operation.ItemsStaged", frozen=True, kw_only=True):
    chunk: int
    first_index: int
    items: tuple[ResourceWrite, ...]


class BulkOperationStarted(_Event, tag="bulk_operation.Started", frozen=True):
    pass


class ChunkApplied(_Event, tag="bulk_operation.ChunkApplied", frozen=True, kw_only=True):
    chunk: int
    results: tuple[ItemResult, ...]


class BulkOperationFinished(_Event, tag="bulk_operation.Finished", frozen=True, kw_only=True):
    """Every chunk applied: ``completed``, or ``failed`` when no item succeeded."""

    status: str
    success_count: int
    failure_count: int


BulkOperationEvent = (BulkOperationSubmitted | ItemsStaged | BulkOperationStarted
                      | ChunkApplied | BulkOperationFinished)
