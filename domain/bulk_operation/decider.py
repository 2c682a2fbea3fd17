"""Bulk operation decider: submitted with its items in chunks, then each chunk's results in
order, until every chunk is applied.

The state keeps counts, not items: the audit trail folds and stores every stream's state, and
10,000 items would be rewritten with each chunk. The worker reads the items from the stream's
``ItemsStaged`` events. ``RecordChunk`` names the chunk it applies: a second worker that
applied the same chunk meets the first one's version (and this rule), never a double count.
"""

from __future__ import annotations

from typing import Literal, assert_never
from uuid import UUID

import msgspec

from domain.bulk_operation.commands import BulkOperationCommand, RecordChunk, SubmitBulkOperation
from domain.bulk_operation.events import (
    BulkOperationEvent,
    BulkOperationFinished,
    BulkOperationStarted,
    BulkOperationSubmitted,
    ChunkApplied,
    ItemsStaged,
)
from domain.decider import Decider
from domain.errors import AlreadyExists, InvalidState, InvalidValue
from domain.limits import BULK_CHUNK_ITEMS, MAX_BULK_ITEMS
from domain.permissions import Permissions
from domain.resource.writes import ResourceWrite

Status = Literal["absent", "pending", "processing", "completed", "failed"]


class BulkOperation(msgspec.Struct, frozen=True, kw_only=True):
    status: Status = "absent"
    organization_id: UUID | None = None
    created_by: str = ""
    total_count: int = 0
    chunk_count: int = 0
    applied_chunks: int = 0
    success_count: int = 0
    failure_count: int = 0
    grants: tuple[Permissions, ...] | None = None  # whose filters bind the items' writes


INITIAL = BulkOperation()


def evolve(state: BulkOperation, event: BulkOperationEvent) -> BulkOperation:
    match event:
        case BulkOperationSubmitted():
            return BulkOperation(status="pending", organization_id=event.organization_id,
                                 created_by=event.created_by, total_count=event.total_count,
                                 chunk_count=event.chunk_count, grants=event.grants)
        case BulkOperationStarted():
            return msgspec.structs.replace(state, status="processing")
        case ChunkApplied():
            ok = sum(1 for r in event.results if r.success)
            return msgspec.structs.replace(
                state, applied_chunks=state.applied_chunks + 1,
                success_count=state.success_count + ok,
                failure_count=state.failure_count + len(event.results) - ok)
        case BulkOperationFinished():
            status: Status = "failed" if event.status == "failed" else "completed"
            return msgspec.structs.replace(state, status=status)
        case _:
            return state


def decide(command: BulkOperationCommand, state: BulkOperation) -> list[BulkOperationEvent]:
    match command:
        case SubmitBulkOperation():
            if state.status != "absent":
                raise AlreadyExists("the bulk operation exists", code="bulk_operation_exists")
            chunks = chunked(command.items, command.chunk_bytes)
            return [BulkOperationSubmitted(
                organization_id=command.organization_id, total_count=len(command.items),
                chunk_count=len(chunks), created_by=command.created_by,
                grants=command.grants),
                *(ItemsStaged(chunk=k, first_index=first, items=items)
                  for k, (first, items) in enumerate(chunks))]
        case RecordChunk():
            return _recorded(command, state)
        case _:
            assert_never(command)


def _recorded(command: RecordChunk, state: BulkOperation) -> list[BulkOperationEvent]:
    if state.status not in ("pending", "processing") or command.chunk != state.applied_chunks:
        raise InvalidState(f"chunk {command.chunk} is not the next one to apply",
                           code="bulk_chunk_out_of_order")
    events: list[BulkOperationEvent] = []
    if state.status == "pending":
        events.append(BulkOperationStarted())
    applied = ChunkApplied(chunk=command.chunk, results=command.results)
    events.append(applied)
    if command.chunk == state.chunk_count - 1:
        done = evolve(state, applied)
        events.append(BulkOperationFinished(
            status="failed" if done.success_count == 0 else "completed",
            success_count=done.success_count, failure_count=done.failure_count))
    return events


def chunked(items: tuple[ResourceWrite, ...],
            max_bytes: int) -> list[tuple[int, tuple[ResourceWrite, ...]]]:
    """The items in order, cut into chunks of at most BULK_CHUNK_ITEMS items and ``max_bytes``
    of encoded items each; each chunk with the index of its first item."""
    if not 1 <= len(items) <= MAX_BULK_ITEMS:
        raise InvalidValue(f"a bulk operation has 1 to {MAX_BULK_ITEMS} items", field="items",
                           code="bulk_items_count", params={"max": MAX_BULK_ITEMS})
    chunks: list[tuple[int, tuple[ResourceWrite, ...]]] = []
    current: list[ResourceWrite] = []
    first = size = 0
    for index, item in enumerate(items):
        length = len(msgspec.json.encode(item)) + 1
        if length > max_bytes:
            raise InvalidValue(f"items[{index}] is too large to store", field=f"items[{index}]",
                               code="bulk_item_too_large", params={"max": max_bytes})
        if current and (len(current) == BULK_CHUNK_ITEMS or size + length > max_bytes):
            chunks.append((first, tuple(current)))
            current, first, size = [], index, 0
        current.append(item)
        size += length
    chunks.append((first, tuple(current)))
    return chunks


DECIDER = Decider("bulk_operation", INITIAL, evolve, decide)
