"""Bulk operations on the in-memory store: per-item results, a bad item failing alone, and a
worker stopped before or after a chunk's append resuming with every item applied once."""

from __future__ import annotations

from collections import Counter
from typing import Any
from uuid import UUID

import pytest

from commands.bulk import BulkCommands, item_id
from commands.organizations import OrganizationCommands
from commands.resource_types import ResourceTypeCommands
from commands.resources import ResourceCommands
from domain.bulk_operation import decider as bulk
from domain.limits import BULK_CHUNK_ITEMS
from domain.resource.commands import Content
from domain.resource.writes import ResourceWrite
from domain.resource_type.commands import RegisterResourceType
from infra.jsonschemas import JsonSchemas
from tests.builders import context
from tests.usecases.conftest import RacingStore, new_org

SCHEMA: dict[str, Any] = {"type": "object", "properties": {"n": {"type": "integer"}}}


class Killed(Exception):
    pass


def world(store: RacingStore) -> tuple[BulkCommands, ResourceCommands, UUID]:
    org = new_org(OrganizationCommands(store, retries=3))
    schemas = JsonSchemas()
    ResourceTypeCommands(store, schemas).register(context(), RegisterResourceType(
        organization_id=org, name="bees", schema=SCHEMA))
    return (BulkCommands(store, schemas, retries=3), ResourceCommands(store, schemas),
            org)


def creates(n: int, bad: tuple[int, ...] = ()) -> list[ResourceWrite]:
    return [ResourceWrite(op="create", resource_type="bees",
                          content=Content(data={"n": "bad" if i in bad else i}))
            for i in range(n)]


def resource_events(store: RacingStore) -> Counter[UUID]:
    return Counter(e.stream_id for stream in list(store.streams) for e in store.load(stream)
                   if e.stream_type == "resource")


def test_a_bulk_operation_applies_its_items_with_per_item_results_and_a_bad_one_fails_alone(
        store: RacingStore) -> None:
    ops, resources, org = world(store)
    existing = resources.create(context(), org, "bees", Content(data={"n": 0})).stream_id
    items = [*creates(3, bad=(1,)),
             ResourceWrite(op="patch", resource_type="bees", resource_id=existing,
                           patch={"data": {"n": 7}}),
             ResourceWrite(op="upsert", resource_type="bees", key="k", content=Content(data={})),
             ResourceWrite(op="delete", resource_type="bees", resource_id=existing)]
    submitted = ops.submit(context(), org, items)
    assert ops.process(submitted.stream_id)
    op = ops.loaded(submitted.stream_id)
    assert op is not None
    assert (op.state.status, op.state.success_count, op.state.failure_count) == (
        "completed", 5, 1)
    results = [r for e in store.load(submitted.stream_id)
               for r in getattr(e.event, "results", ())]
    assert [(r.index, r.success, r.version) for r in results] == [
        (0, True, 1), (1, False, None), (2, True, 1), (3, True, 2), (4, True, 1), (5, True, 3)]
    assert results[1].error == "data_invalid"
    assert results[0].resource_id == item_id(submitted.stream_id, 0)


@pytest.mark.parametrize("point", ["before_append", "after_append"])
def test_a_worker_stopped_at_a_chunk_resumes_and_applies_every_item_exactly_once(
        store: RacingStore, point: str) -> None:
    ops, _resources, org = world(store)
    n = BULK_CHUNK_ITEMS * 2 + 10
    submitted = ops.submit(context(), org, creates(n))

    def crash(at: str, chunk: int) -> None:
        if (at, chunk) == (point, 1):
            raise Killed

    with pytest.raises(Killed):
        ops.process(submitted.stream_id, crash=crash)
    assert ops.process(submitted.stream_id)
    counts = resource_events(store)
    assert len(counts) == n
    assert set(counts.values()) == {1}
    op = ops.loaded(submitted.stream_id)
    assert op is not None
    assert (op.state.status, op.state.success_count) == ("completed", n)


def test_a_second_worker_on_the_same_operation_records_no_chunk_twice(
        store: RacingStore) -> None:
    ops, _resources, org = world(store)
    submitted = ops.submit(context(), org, creates(BULK_CHUNK_ITEMS + 1))
    # The rival worker finishes the whole operation just before our first chunk's append.
    store.rivals.append(lambda: ops.process(submitted.stream_id))
    assert ops.process(submitted.stream_id)
    assert set(resource_events(store).values()) == {1}
    applied = [e.event for e in store.load(submitted.stream_id)
               if e.event_type == "bulk_operation.ChunkApplied"]
    assert [a.chunk for a in applied] == [0, 1]
    assert bulk.DECIDER.fold(bulk.INITIAL, (e.event for e in store.load(
        submitted.stream_id))).success_count == BULK_CHUNK_ITEMS + 1


def test_a_writer_that_changes_a_later_chunks_resource_first_makes_that_chunk_decide_again(
        store: RacingStore) -> None:
    ops, resources, org = world(store)
    existing = resources.create(context(), org, "bees", Content(data={"n": 0})).stream_id
    patch = ResourceWrite(op="patch", resource_type="bees", resource_id=existing,
                          patch={"data": {"n": 2}})
    submitted = ops.submit(context(), org, [*creates(BULK_CHUNK_ITEMS), patch])
    # Chunk 1 is decided while chunk 0's append runs; the rival gets in before chunk 1's.
    store.rivals += [lambda: None, lambda: resources.patch(context(), org, "bees", existing,
                                                           {"data": {"n": 1}})]
    assert ops.process(submitted.stream_id)
    assert [e.event.data for e in store.load(existing)] == [  # type: ignore[union-attr]
        {"n": 0}, {"n": 1}, {"n": 2}]
    counts = resource_events(store)
    assert len(counts) == BULK_CHUNK_ITEMS + 1
    assert counts[existing] == 3
