"""The bulk operation decider: a submission staged in chunks, chunks recorded in order, the
operation finished by its last chunk."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import msgspec
import pytest

from domain.bulk_operation import decider as bulk
from domain.bulk_operation.commands import RecordChunk, SubmitBulkOperation
from domain.bulk_operation.events import (
    BulkOperationFinished,
    BulkOperationStarted,
    BulkOperationSubmitted,
    ChunkApplied,
    ItemResult,
    ItemsStaged,
)
from domain.envelope import Actor, Envelope, encode
from domain.errors import AlreadyExists, InvalidState, InvalidValue
from domain.limits import BULK_CHUNK_ITEMS, MAX_BULK_ITEMS, MAX_ITEM_MESSAGE, MAX_USER_AGENT
from domain.resource.commands import Content
from domain.resource.writes import ResourceWrite
from infra.eventstore import DEFAULT_MAX_EVENT_BYTES
from tests.unit.spec import Specification

ORG = uuid.UUID(int=7)
spec = Specification(bulk.DECIDER)


def items(n: int, size: int = 1) -> tuple[ResourceWrite, ...]:
    return tuple(ResourceWrite(op="create", resource_type="bees",
                               content=Content(data={"n": i, "pad": "x" * size}))
                 for i in range(n))


def submit(n: int, chunk_bytes: int = 200_000) -> SubmitBulkOperation:
    return SubmitBulkOperation(organization_id=ORG, created_by="user:u", items=items(n),
                               chunk_bytes=chunk_bytes)


def submitted(chunks: int, total: int) -> BulkOperationSubmitted:
    return BulkOperationSubmitted(organization_id=ORG, total_count=total, chunk_count=chunks,
                                  created_by="user:u")


def results(first: int, n: int, failed: tuple[int, ...] = ()) -> tuple[ItemResult, ...]:
    return tuple(ItemResult(index=i, success=i not in failed) for i in range(first, first + n))


def test_a_submission_stages_its_items_in_chunks_of_at_most_the_chunk_size_in_order() -> None:
    events = spec.when(submit(BULK_CHUNK_ITEMS * 2 + 5)).decided()
    assert events[0] == submitted(3, BULK_CHUNK_ITEMS * 2 + 5)
    staged = [e for e in events[1:] if isinstance(e, ItemsStaged)]
    assert [(s.chunk, s.first_index, len(s.items)) for s in staged] == [
        (0, 0, BULK_CHUNK_ITEMS), (1, BULK_CHUNK_ITEMS, BULK_CHUNK_ITEMS),
        (2, 2 * BULK_CHUNK_ITEMS, 5)]
    assert [i for s in staged for i in s.items] == list(items(BULK_CHUNK_ITEMS * 2 + 5))


def test_chunks_are_also_cut_by_their_encoded_size() -> None:
    one = len(msgspec.json.encode(items(1, size=1000)[0])) + 1
    command = SubmitBulkOperation(organization_id=ORG, created_by="user:u",
                                  items=items(10, size=1000), chunk_bytes=3 * one + 10)
    staged = [e for e in spec.when(command).decided() if isinstance(e, ItemsStaged)]
    assert [len(s.items) for s in staged] == [3, 3, 3, 1]


def test_an_item_larger_than_a_chunk_and_too_many_or_no_items_are_refused() -> None:
    command = SubmitBulkOperation(organization_id=ORG, created_by="user:u",
                                  items=items(3, size=5000), chunk_bytes=3000)
    spec.when(command).then_raises(InvalidValue, field="items[0]")
    spec.when(submit(0)).then_raises(InvalidValue, field="items")
    many = SubmitBulkOperation(organization_id=ORG, created_by="user:u",
                               items=items(1) * (MAX_BULK_ITEMS + 1), chunk_bytes=10**9)
    spec.when(many).then_raises(InvalidValue, field="items")


def test_the_first_chunk_starts_the_operation_and_the_last_finishes_it_with_counts() -> None:
    spec.given(submitted(2, 3)).when(RecordChunk(chunk=0, results=results(0, 2, (1,)))).then(
        BulkOperationStarted(), ChunkApplied(chunk=0, results=results(0, 2, (1,))))
    history = (submitted(2, 3), BulkOperationStarted(),
               ChunkApplied(chunk=0, results=results(0, 2, (1,))))
    spec.given(*history).when(RecordChunk(chunk=1, results=results(2, 1))).then(
        ChunkApplied(chunk=1, results=results(2, 1)),
        BulkOperationFinished(status="completed", success_count=2, failure_count=1))
    state = spec.given(*history, ChunkApplied(chunk=1, results=results(2, 1)),
                       BulkOperationFinished(status="completed", success_count=2,
                                             failure_count=1)).state
    assert (state.status, state.success_count, state.failure_count) == ("completed", 2, 1)


def test_an_operation_whose_every_item_failed_is_failed() -> None:
    spec.given(submitted(1, 2)).when(RecordChunk(chunk=0, results=results(0, 2, (0, 1)))).then(
        BulkOperationStarted(), ChunkApplied(chunk=0, results=results(0, 2, (0, 1))),
        BulkOperationFinished(status="failed", success_count=0, failure_count=2))


@pytest.mark.parametrize("chunk", [1, 0])
def test_a_chunk_out_of_order_or_recorded_twice_is_refused(chunk: int) -> None:
    history = (submitted(3, 5), BulkOperationStarted(),
               ChunkApplied(chunk=0, results=results(0, 2)))
    given = history if chunk == 0 else history[:1]
    spec.given(*given).when(RecordChunk(chunk=chunk, results=results(0, 2))).then_raises(
        InvalidState)


def test_an_operation_is_submitted_once() -> None:
    spec.given(submitted(1, 1)).when(submit(1)).then_raises(AlreadyExists)


def test_a_chunk_of_failures_with_the_longest_messages_fits_one_stored_event() -> None:
    worst = tuple(ItemResult(index=10**4 + i, success=False, error="x" * 40,
                             message="\U0001f41d" * MAX_ITEM_MESSAGE)
                  for i in range(BULK_CHUNK_ITEMS))
    envelope = Envelope(event_id=uuid.uuid4(), stream_id=uuid.uuid4(),
                        stream_type="bulk_operation", version=10**6, organization_id=ORG,
                        occurred_at=datetime.now(UTC), actor=Actor(kind="user", id="u" * 64),
                        request_id="r" * 64, correlation_id="c" * 128, causation_id="e" * 36,
                        user_agent="a" * MAX_USER_AGENT,
                        event=ChunkApplied(chunk=10**3, results=worst))
    assert len(encode(envelope)) < DEFAULT_MAX_EVENT_BYTES
