"""Transactions on the in-memory store: every item in one append or nothing, errors naming the
item, a concurrent writer retried into a 412 for a pinned item."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commands.organizations import OrganizationCommands
from commands.resource_types import ResourceTypeCommands
from commands.resources import ResourceCommands
from commands.runner import VersionConflict
from commands.transactions import ItemVersionConflict, TransactionCommands
from domain.errors import DomainError, ForeignNotFound, InvalidValue
from domain.resource import decider as res
from domain.resource.commands import Content
from domain.resource.events import Relationship
from domain.resource.writes import ResourceWrite
from domain.resource_type.commands import RegisterResourceType
from infra.jsonschemas import JsonSchemas
from tests.builders import context
from tests.usecases.conftest import RacingStore, new_org

SCHEMA: dict[str, Any] = {"type": "object", "properties": {"n": {"type": "integer"}}}


class World:
    def __init__(self, store: RacingStore, slug: str = "acme") -> None:
        self.org = new_org(OrganizationCommands(store, retries=3), slug)
        schemas = JsonSchemas()
        for name in ("bees", "hives"):
            ResourceTypeCommands(store, schemas).register(context(), RegisterResourceType(
                organization_id=self.org, name=name, schema=SCHEMA))
        self.resources = ResourceCommands(store, schemas, retries=3)
        self.tx = TransactionCommands(store, schemas, retries=3)

    def made(self, n: int = 1, kind: str = "bees") -> UUID:
        return self.resources.create(context(), self.org, kind,
                                     Content(data={"n": n})).stream_id


def create(kind: str = "bees", n: int = 1, **more: Any) -> ResourceWrite:
    return ResourceWrite(op="create", resource_type=kind, content=Content(data={"n": n}), **more)


def test_writes_across_types_and_resources_commit_in_one_append_with_each_new_version(
        store: RacingStore) -> None:
    w = World(store)
    existing = w.made()
    head = len(store.log)
    done = w.tx.commit(context(), w.org, [
        create("bees"), create("hives", 2),
        ResourceWrite(op="patch", resource_type="bees", resource_id=existing,
                      patch={"data": {"n": 5}}, expected_version=1),
        ResourceWrite(op="upsert", resource_type="hives", key="k-1",
                      content=Content(data={"n": 3})),
        ResourceWrite(op="delete", resource_type="bees", resource_id=existing,
                      expected_version=2)])
    assert [a.version for a in done.items] == [1, 1, 2, 1, 3]
    assert done.items[2].resource_id == done.items[4].resource_id == existing
    assert done.items[3].resource_id == res.key_stream_id(w.org, "hives", "k-1")
    assert len(store.log) == head + 5
    assert done.position == head + 5
    assert [e.version for e in store.load(existing)] == [1, 2, 3]


def test_a_stale_expected_version_names_its_item_and_commits_nothing(
        store: RacingStore) -> None:
    w = World(store)
    existing = w.made()
    head = len(store.log)
    with pytest.raises(ItemVersionConflict) as caught:
        w.tx.commit(context(), w.org, [create(), ResourceWrite(
            op="delete", resource_type="bees", resource_id=existing, expected_version=4)])
    assert (caught.value.index, caught.value.expected, caught.value.actual) == (1, 4, 1)
    assert len(store.log) == head


def test_a_concurrent_writer_on_a_pinned_item_is_a_conflict_naming_it_and_nothing_commits(
        store: RacingStore) -> None:
    w = World(store)
    existing = w.made()
    store.rivals.append(lambda: w.resources.patch(context(), w.org, "bees", existing,
                                                  {"data": {"n": 9}}))
    with pytest.raises(ItemVersionConflict) as caught:
        w.tx.commit(context(), w.org, [create(), ResourceWrite(
            op="replace", resource_type="bees", resource_id=existing, expected_version=1,
            content=Content(data={"n": 2}))])
    assert caught.value.index == 1
    assert [e.version for e in store.load(existing)] == [1, 2]  # the rival's write only


def test_an_invalid_item_is_refused_with_its_index_before_the_field(store: RacingStore) -> None:
    w = World(store)
    head = len(store.log)
    with pytest.raises(InvalidValue) as caught:
        w.tx.commit(context(), w.org, [create(), ResourceWrite(
            op="create", resource_type="bees", content=Content(data={"n": "one"}))])
    assert (caught.value.code, caught.value.field) == ("data_invalid", "items[1]./data/n")
    assert len(store.log) == head


def test_another_organizations_resource_is_not_found_and_cannot_be_related(
        store: RacingStore) -> None:
    ours, theirs = World(store), World(store, "other")
    foreign = theirs.made()
    with pytest.raises(ForeignNotFound) as caught:
        ours.tx.commit(context(), ours.org, [ResourceWrite(
            op="delete", resource_type="bees", resource_id=foreign)])
    assert caught.value.field == "items[0]"
    related = Content(data={}, relationships=(Relationship(type="reference", id=foreign),))
    with pytest.raises(InvalidValue) as refused:
        ours.tx.commit(context(), ours.org, [ResourceWrite(
            op="create", resource_type="bees", content=related)])
    assert refused.value.code == "relationship_unknown"
    assert [e.version for e in store.load(foreign)] == [1]


def test_a_relationship_may_name_a_resource_an_earlier_item_creates(store: RacingStore) -> None:
    w = World(store)
    parent = ResourceWrite(op="upsert", resource_type="hives", key="h",
                           content=Content(data={}))
    child = Content(data={}, relationships=(Relationship(
        type="parent", id=res.key_stream_id(w.org, "hives", "h")),))
    done = w.tx.commit(context(), w.org, [parent, ResourceWrite(
        op="create", resource_type="bees", content=child)])
    assert [a.version for a in done.items] == [1, 1]


def test_an_empty_or_oversized_transaction_is_refused() -> None:
    store = RacingStore()
    w = World(store)
    for items in ([], [create()] * 101):
        with pytest.raises(InvalidValue) as caught:
            w.tx.commit(context(), w.org, items)
        assert caught.value.field == "items"


ops = st.sampled_from(["create", "replace", "patch", "upsert", "delete"])
# Mostly writes that succeed, now and then one that is refused (each refuses the whole).
values = st.sampled_from([1, 2, 3, 4, 5, 6, 7, "bad"])
kinds = st.sampled_from(["bees"] * 6 + ["hives"] * 6 + ["wasps"])
keys = st.sampled_from(["k1"] * 6 + ["k2"] * 6 + ["-bad"])
expected = st.sampled_from([None] * 12 + [0, 1, 2])


@st.composite
def items(draw: st.DrawFn, known: list[tuple[UUID, str]]) -> ResourceWrite:
    """``known``: existing resources and their types (an unknown id now and then)."""
    n = draw(values)
    resource_id, kind = draw(st.sampled_from([*known * 6, (UUID(int=1), "bees")]))
    op = draw(ops)
    return ResourceWrite(
        op=op, resource_type=draw(kinds) if op in ("create", "upsert") else kind,
        resource_id=resource_id, key=draw(keys), expected_version=draw(expected),
        content=Content(data={"n": n}), patch={"data": {"n": n}})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_transaction_either_commits_every_items_events_in_one_append_or_nothing(
        data: st.DataObject) -> None:
    store = RacingStore()
    w = World(store)
    known = [(w.made(), "bees"), (w.made(kind="hives"), "hives")]
    batch = data.draw(st.lists(items(known), min_size=1, max_size=6))
    head, before = len(store.log), {k: store.load(k) for k, _ in known}
    try:
        done = w.tx.commit(context(), w.org, batch)
    except (DomainError, VersionConflict):
        assert len(store.log) == head
        assert {k: store.load(k) for k, _ in known} == before
        return
    for applied in done.items:  # each item's new version is its stream's, or an earlier one
        assert applied.version <= len(store.load(applied.resource_id))
    last = {a.resource_id: a.version for a in done.items}
    assert all(len(store.load(r)) == v for r, v in last.items())
    assert len(store.log) - head == sum(v - len(before.get(r, [])) for r, v in last.items())
