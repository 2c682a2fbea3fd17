"""The single writes' rules inside transactions and bulk items, on the in-memory store: no
parent cycle (counting the earlier items), no delete of a resource others depend on unless
the item cascades, and a caller's permission filters on every write."""

from __future__ import annotations

import dataclasses
from uuid import UUID

import pytest

from commands.bulk import BulkCommands
from commands.runner import Context
from domain.errors import DomainError, Forbidden, InvalidState, NotFound
from domain.permissions import ApiPermission, Conditions
from domain.resource import decider as res
from domain.resource.commands import Content
from domain.resource.events import Relationship
from domain.resource.writes import ResourceWrite
from infra.jsonschemas import JsonSchemas
from tests.builders import context
from tests.usecases.conftest import RacingStore
from tests.usecases.test_transactions import World


def related(kind: str, *ids: UUID, n: int = 1) -> Content:
    return Content(data={"n": n}, relationships=tuple(Relationship(type=kind, id=i)
                                                      for i in ids))


def patch_parent(resource_id: UUID, parent: UUID) -> ResourceWrite:
    return ResourceWrite(op="patch", resource_type="bees", resource_id=resource_id,
                         patch={"relationships": [{"type": "parent", "id": str(parent)}]})


def delete(resource_id: UUID, cascade: bool = False) -> ResourceWrite:
    return ResourceWrite(op="delete", resource_type="bees", resource_id=resource_id,
                         cascade=cascade)


def refused(w: World, items: list[ResourceWrite], **kw: object) -> DomainError:
    head = len(w.store.log)
    with pytest.raises(DomainError) as caught:
        w.tx.commit(context(), w.org, items, **kw)  # type: ignore[arg-type]
    assert len(w.store.log) == head  # nothing written
    return caught.value


@pytest.fixture
def w(store: RacingStore) -> World:
    world = World(store)
    world.store = store  # type: ignore[attr-defined]
    return world


def test_a_parent_cycle_made_by_two_items_of_one_transaction_is_refused_naming_the_second(
        w: World) -> None:
    a, b = w.made(), w.made()
    error = refused(w, [patch_parent(b, a), patch_parent(a, b)])
    assert (error.code, error.field) == ("relationship_cycle", "items[1].relationships")


def test_a_transaction_that_creates_a_then_makes_a_descendant_its_parent_is_refused(
        w: World) -> None:
    a = res.key_stream_id(w.org, "bees", "a")
    child = w.made()
    error = refused(w, [
        ResourceWrite(op="upsert", resource_type="bees", key="a", content=Content(data={})),
        patch_parent(child, a), patch_parent(a, child)])
    assert (error.code, error.field) == ("relationship_cycle", "items[2].relationships")


def test_deleting_what_the_read_model_says_others_depend_on_needs_cascade(w: World) -> None:
    target = w.made()
    dependent = w.resources.create(context(), w.org, "bees",
                                   related("dependency", target)).stream_id
    error = refused(w, [delete(target)], dependents={target: [dependent]})
    assert (error.code, error.field, error.params) == (
        "resource_has_dependents", "items[0]", {"count": 1})
    assert isinstance(error, InvalidState)
    done = w.tx.commit(context(), w.org, [delete(target, cascade=True)],
                       dependents={target: [dependent]})
    assert [e.event_type for e in w.store.load(dependent)][-1] == "resource.Deleted"
    assert done.position is not None


def test_a_dependency_made_by_an_earlier_item_refuses_a_later_delete(w: World) -> None:
    target, other = w.made(), w.made()
    error = refused(w, [
        ResourceWrite(op="replace", resource_type="bees", resource_id=other,
                      content=related("dependency", target)), delete(target)])
    assert (error.code, error.field) == ("resource_has_dependents", "items[1]")


def test_a_dependent_deleted_by_an_earlier_item_no_longer_holds_the_delete_back(
        w: World) -> None:
    target = w.made()
    dependent = w.resources.create(context(), w.org, "bees",
                                   related("dependency", target)).stream_id
    done = w.tx.commit(context(), w.org, [delete(dependent), delete(target)],
                       dependents={target: [dependent]})
    assert [a.version for a in done.items] == [2, 2]


def eu_only(ctx: Context) -> Context:
    grant = ApiPermission(resource="resources", actions=("create", "read", "update", "delete"),
                          conditions=Conditions(filters={"data.region": "eu"}))
    return dataclasses.replace(ctx, grants=((grant,),))


def regional(region: str) -> Content:
    return Content(data={"n": 1, "region": region})


def test_a_key_allowed_only_eu_resources_cannot_write_a_us_one_in_a_transaction(
        w: World) -> None:
    us = w.resources.create(context(), w.org, "bees", regional("us")).stream_id
    eu = w.resources.create(context(), w.org, "bees", regional("eu")).stream_id
    head = len(w.store.log)
    for items, error in (
            ([ResourceWrite(op="create", resource_type="bees", content=regional("us"))],
             Forbidden),
            ([ResourceWrite(op="patch", resource_type="bees", resource_id=eu,
                            patch={"data": {"region": "us"}})], Forbidden),
            ([ResourceWrite(op="patch", resource_type="bees", resource_id=us,
                            patch={"data": {"region": "eu"}})], NotFound),
            ([delete(us)], NotFound)):
        with pytest.raises(error) as caught:
            w.tx.commit(eu_only(context()), w.org, items)
        assert caught.value.field == "items[0]"
    assert len(w.store.log) == head
    done = w.tx.commit(eu_only(context()), w.org, [
        ResourceWrite(op="create", resource_type="bees", content=regional("eu")),
        ResourceWrite(op="patch", resource_type="bees", resource_id=eu,
                      patch={"data": {"n": 2}})])
    assert [a.version for a in done.items] == [1, 2]


def test_a_key_allowed_only_eu_resources_cannot_write_a_us_one_through_the_single_routes(
        w: World) -> None:
    us = w.resources.create(context(), w.org, "bees", regional("us")).stream_id
    with pytest.raises(Forbidden):
        w.resources.create(eu_only(context()), w.org, "bees", regional("us"))
    with pytest.raises(NotFound):
        w.resources.patch(eu_only(context()), w.org, "bees", us, {"data": {"n": 3}})
    with pytest.raises(Forbidden):
        w.resources.upsert(eu_only(context()), w.org, "bees", "k", regional("us"))
    assert w.resources.create(eu_only(context()), w.org, "bees", regional("eu")).version == 1


def test_a_bulk_item_meets_the_submitters_filters_and_the_relationship_rules(
        w: World, store: RacingStore) -> None:
    ops = BulkCommands(store, JsonSchemas(), retries=3)
    target = w.made()
    dependent = w.resources.create(context(), w.org, "bees",
                                   related("dependency", target)).stream_id
    a, b = w.made(), w.made()
    submitted = ops.submit(eu_only(context()), w.org, [
        ResourceWrite(op="create", resource_type="bees", content=regional("us")),
        ResourceWrite(op="create", resource_type="bees", content=regional("eu"))])
    assert ops.process(submitted.stream_id)
    other = ops.submit(context(), w.org, [
        delete(target), patch_parent(b, a), patch_parent(a, b), delete(target, cascade=True)])
    assert ops.process(other.stream_id,
                       dependents=lambda _org, _deleted: {target: [dependent]})
    results = [r for op in (submitted, other) for e in store.load(op.stream_id)
               for r in getattr(e.event, "results", ())]
    assert [(r.success, r.error) for r in results] == [
        (False, "permission_denied"), (True, None), (False, "resource_has_dependents"),
        (True, None), (False, "relationship_cycle"), (True, None)]
    assert store.load(dependent)[-1].event_type == "resource.Deleted"


def test_a_cascade_that_would_take_a_resource_the_key_may_not_touch_is_refused(
        w: World) -> None:
    target = w.resources.create(context(), w.org, "bees", regional("eu")).stream_id
    dependent = w.resources.create(context(), w.org, "bees", Content(
        data={"n": 1, "region": "us"}, relationships=(Relationship(
            type="dependency", id=target),))).stream_id
    for attempt in (
            lambda: w.tx.commit(eu_only(context()), w.org, [delete(target, cascade=True)],
                                dependents={target: [dependent]}),
            lambda: w.resources.delete(eu_only(context()), w.org, "bees", target,
                                       (dependent,))):
        with pytest.raises(Forbidden):
            attempt()
    assert [e.event_type for e in w.store.load(target)] == ["resource.Created"]
