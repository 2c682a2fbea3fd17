"""Bulk operations: submit up to MAX_BULK_ITEMS resource writes (answered at once), and the
worker's use case, which applies them chunk by chunk.

A chunk is applied in ONE append: its items' resource events and the operation's
``ChunkApplied`` (expected at the operation's version) commit together or not at all. A
worker killed before the append left nothing of the chunk; one killed after it finds the
chunk recorded and goes on with the next: no item is applied twice, and two workers on one
operation meet on its version. A create's resource id is derived from (operation, index),
so even a write repeated outside that guard would meet the first one at version 0.
One bad item fails alone: its error is its result, and the others of its chunk commit.
Chunk k+1 is decided while chunk k's append runs, on the states chunk k leaves; it is appended
only once chunk k committed, and decided again if chunk k's append failed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import NamedTuple
from uuid import UUID

from commands.batch import Batch, Dependents
from commands.ids import NamedIds, random_ids
from commands.ports import ConcurrencyError, EventStore, Schemas
from commands.resources import stamp_of
from commands.runner import (
    Context,
    Result,
    Seal,
    StreamWrite,
    TooMuchContention,
    VersionConflict,
    check_sizes,
    envelopes,
    execute,
    load,
    write,
)
from domain.bulk_operation import decider as bulk
from domain.bulk_operation.commands import RecordChunk, SubmitBulkOperation
from domain.bulk_operation.events import ItemResult, ItemsStaged
from domain.envelope import Envelope
from domain.errors import DomainError
from domain.limits import MAX_ITEM_MESSAGE
from domain.organization import decider as org
from domain.organization.rules import require_live
from domain.resource.writes import ResourceWrite

# Room for the envelope around a chunk's items (ids, actor, request ids, user agent).
ENVELOPE_ROOM = 4096
ITEM_PREFIX = "item:"  # a create's resource id: uuid5(operation id, "item:<index>")
# Test-only crash points: called with ("before_append" | "after_append", chunk).
Crash = Callable[[str, int], None]


def item_id(operation_id: UUID, index: int) -> UUID:
    """The resource id a bulk create writes: the same for every attempt of the item (the
    worker makes it with ``NamedIds(operation_id, ITEM_PREFIX)``, the same value)."""
    return uuid.uuid5(operation_id, f"{ITEM_PREFIX}{index}")


class Operation(NamedTuple):
    """An operation's stream as the worker needs it: its state, version, staged chunks, and
    the context its writes carry (the submitter's, caused by the submission)."""

    state: bulk.BulkOperation
    version: int
    chunks: dict[int, ItemsStaged]
    ctx: Context


class Chunk(NamedTuple):
    """A chunk decided: its writes, the envelopes to append, the operation after them."""

    number: int
    batch: Batch
    stored: list[Envelope]
    encoded: list[bytes]  # the envelopes' bytes, made once for the size check and the append
    after: Operation


class BulkCommands:
    def __init__(self, store: EventStore, schemas: Schemas, *, retries: int = 5) -> None:
        self.store, self.schemas, self.retries = store, schemas, retries
        # The read model's dependents for the operation being processed (the worker's query on
        # its own connection, given to ``process``); none outside a worker (no read model).
        self._dependents: Dependents = lambda _org, _deleted: {}

    def submit(self, ctx: Context, organization_id: UUID, items: Sequence[ResourceWrite],
               seal: Seal | None = None) -> Result:
        operation_id = ctx.new_id()
        command = SubmitBulkOperation(
            organization_id=organization_id, created_by=f"{ctx.actor.kind}:{ctx.actor.id}",
            items=tuple(items), chunk_bytes=self.store.max_event_bytes - ENVELOPE_ROOM,
            grants=ctx.grants)

        def attempt() -> list[StreamWrite]:
            require_live(load(self.store, org.DECIDER, organization_id).state)
            return [write(bulk.DECIDER, operation_id, organization_id, 0,
                          bulk.decide(command, bulk.INITIAL))]

        return execute(self.store, ctx, attempt, retries=self.retries, seal=seal)

    def process(self, operation_id: UUID, *, dependents: Dependents = lambda _org, _deleted: {},
                stop: Callable[[], bool] = lambda: False,
                crash: Crash = lambda _point, _chunk: None) -> bool:
        """Apply the chunks not applied yet, in order, until done or ``stop()``; True when
        the operation is finished (or is no operation). ``dependents``: the read model's
        live dependents of the resources a chunk's delete items name (the worker's query)."""
        self._dependents = dependents
        op = self.loaded(operation_id)
        conflicts = 0
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="bulk-append") as appender:
            while op is not None and _open(op) and not stop():
                try:
                    op = self._chunks(operation_id, op, appender, stop, crash)
                    conflicts = 0
                except ConcurrencyError:  # another worker, or a writer of one of its resources
                    conflicts += 1
                    if conflicts > self.retries:
                        raise TooMuchContention("the chunk's resources kept changing") from None
                    op = self.loaded(operation_id)
        return op is None or not _open(op)

    def _chunks(self, operation_id: UUID, op: Operation, appender: Executor,
                stop: Callable[[], bool], crash: Crash) -> Operation:
        """Apply chunks from ``op``'s next one on, each decided while the previous one's
        append runs (it follows that chunk's writes, which a failed append discards: the
        ConcurrencyError reaches ``process``, which loads the operation again). Returns the
        operation after the last chunk committed."""
        previous: Chunk | None = None
        running: Future[list[int]] | None = None
        committed = op
        while _open(op) and not stop():
            chunk = self._decided(operation_id, op, previous)
            if running is not None and previous is not None:
                committed = self._landed(running, previous, crash)
            crash("before_append", chunk.number)
            running = appender.submit(self.store.append, chunk.stored, encoded=chunk.encoded)
            previous, op = chunk, chunk.after
        if running is not None and previous is not None:
            committed = self._landed(running, previous, crash)
        return committed

    @staticmethod
    def _landed(running: Future[list[int]], chunk: Chunk, crash: Crash) -> Operation:
        running.result()
        crash("after_append", chunk.number)
        return chunk.after

    def loaded(self, operation_id: UUID) -> Operation | None:
        stream = self.store.load(operation_id)
        if not stream or stream[0].stream_type != bulk.DECIDER.stream_type:
            return None
        state = bulk.INITIAL
        for e in stream:
            state = bulk.evolve(state, e.event)  # type: ignore[arg-type]  # one stream type
        chunks = {e.event.chunk: e.event for e in stream if isinstance(e.event, ItemsStaged)}
        return Operation(state, stream[-1].version, chunks, _context(stream[0]))

    def _decided(self, operation_id: UUID, op: Operation, previous: Chunk | None) -> Chunk:
        """The next chunk's items decided, and its events to append with its results."""
        number = op.state.applied_chunks
        staged = op.chunks[number]
        organization_id = op.state.organization_id
        assert organization_id is not None
        batch = Batch(self.store, self.schemas, organization_id, grants=op.state.grants,
                      dependents=self._dependents, stamp=stamp_of(op.ctx),
                      after=None if previous is None else previous.batch)
        batch.prefetch(staged.items)
        ids = NamedIds(operation_id, ITEM_PREFIX)
        results = tuple(_result(batch, index, ids(index), item)
                        for index, item in enumerate(staged.items, start=staged.first_index))
        events = bulk.decide(RecordChunk(chunk=number, results=results), op.state)
        stored = envelopes(op.ctx, [*batch.writes, write(
            bulk.DECIDER, operation_id, organization_id, op.version, events)])
        encoded = check_sizes(stored, self.store.max_event_bytes)
        return Chunk(number, batch, stored, encoded, op._replace(
            state=bulk.DECIDER.fold(op.state, events), version=op.version + len(events)))


def _open(op: Operation) -> bool:
    return op.state.status in ("pending", "processing")


def _result(batch: Batch, index: int, new_id: UUID, item: ResourceWrite) -> ItemResult:
    try:
        applied = batch.apply(item, new_id)
    except (DomainError, VersionConflict) as e:
        code = e.code if isinstance(e, DomainError) else VersionConflict.code
        return ItemResult(index=index, success=False, error=code,
                          message=str(e)[:MAX_ITEM_MESSAGE])
    return ItemResult(index=index, success=True, resource_id=applied.resource_id,
                      version=applied.version)


def _context(submitted: Envelope) -> Context:
    """The submitter's context: its resource writes are theirs (createdBy), correlated with
    the submission's request and caused by its event; their event ids drawn in batches."""
    return Context(actor=submitted.actor, request_id=submitted.request_id, new_id=random_ids(),
                   correlation_id=submitted.correlation_id,
                   causation_id=str(submitted.event_id), ip_address=submitted.ip_address or "",
                   user_agent=submitted.user_agent or "", source=submitted.source or "system")
