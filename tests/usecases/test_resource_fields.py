"""A key whose grant has ``fields`` writes only those, on every write path, on the in-memory
store: a change outside them is 403 naming the path with nothing written, and a replace keeps
what the key may not write as it is."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any
from uuid import UUID

import pytest

from commands.bulk import BulkCommands
from commands.runner import Context
from domain.errors import DomainError, Forbidden
from domain.permissions import ApiPermission, Conditions
from domain.resource.commands import ArchiveResource, Content, DeleteResource
from domain.resource.stamps import replayed
from domain.resource.writes import ResourceWrite
from infra.jsonschemas import JsonSchemas
from tests.builders import context
from tests.usecases.conftest import RacingStore
from tests.usecases.test_transactions import World


def only(*fields: str) -> Context:
    grant = ApiPermission(resource="resources", actions=("create", "read", "update", "delete"),
                          conditions=Conditions(fields=fields))
    return dataclasses.replace(context(), grants=((grant,),))


def refused(w: World, write: Callable[[], Any]) -> DomainError:
    head = len(w.store.log)  # type: ignore[attr-defined]
    with pytest.raises(Forbidden) as caught:
        write()
    assert len(w.store.log) == head  # type: ignore[attr-defined]
    assert caught.value.code == "permission_denied"
    return caught.value


@pytest.fixture
def w(store: RacingStore) -> World:
    world = World(store)
    world.store = store  # type: ignore[attr-defined]
    return world


def secret_bee(w: World) -> UUID:
    return w.resources.create(context(), w.org, "bees", Content(
        data={"n": 1, "secret": "s"}, tags=("queen",))).stream_id


def test_a_patch_create_or_replace_outside_the_fields_is_refused_naming_the_field(
        w: World) -> None:
    rid, ctx = secret_bee(w), only("data.n")
    assert refused(w, lambda: w.resources.patch(ctx, w.org, "bees", rid, {
        "data": {"secret": None}})).field == "data.secret"
    assert refused(w, lambda: w.resources.patch(ctx, w.org, "bees", rid, {
        "metadata": {"tags": []}})).field == "metadata.tags"
    assert refused(w, lambda: w.resources.replace(ctx, w.org, "bees", rid, Content(
        data={"n": 2, "secret": "t"}))).field == "data.secret"
    assert refused(w, lambda: w.resources.create(ctx, w.org, "bees", Content(
        data={"n": 1, "secret": "s"}))).field == "data.secret"
    assert refused(w, lambda: w.resources.upsert(ctx, w.org, "bees", "k", Content(
        data={"n": 1}, tags=("x",)))).field == "metadata.tags"
    assert w.resources.patch(ctx, w.org, "bees", rid, {"data": {"n": 5}}).version == 2
    assert w.resources.create(ctx, w.org, "bees", Content(data={"n": 1})).version == 1


def test_a_replace_keeps_what_the_key_may_not_write_as_it_is(w: World) -> None:
    rid = secret_bee(w)
    w.resources.replace(only("data.n"), w.org, "bees", rid, Content(data={"n": 7}))
    state = replayed(w.store.load(rid))[0]  # type: ignore[attr-defined]
    assert (state.data, state.tags) == ({"n": 7, "secret": "s"}, ("queen",))
    w.resources.upsert(context(), w.org, "bees", "k", Content(data={"n": 1, "secret": "s"}))
    w.resources.upsert(only("data.n"), w.org, "bees", "k", Content(data={"n": 2}))
    assert replayed(w.store.load(rid))[0].data["secret"] == "s"  # type: ignore[attr-defined]


def test_archiving_or_deleting_writes_status_which_the_fields_must_name(w: World) -> None:
    rid = secret_bee(w)
    assert refused(w, lambda: w.resources.transition(only("data.n"), w.org, "bees", rid,
                                                      ArchiveResource())).field == "status"
    assert refused(w, lambda: w.resources.delete(only("data.n"), w.org, "bees", rid)
                   ).field == "status"
    assert w.resources.transition(only("data.n", "status"), w.org, "bees", rid,
                                  DeleteResource()).version == 2


def test_a_transaction_item_or_a_bulk_item_outside_the_fields_fails_naming_it(
        w: World, store: RacingStore) -> None:
    rid, ctx = secret_bee(w), only("data.n")
    outside = ResourceWrite(op="patch", resource_type="bees", resource_id=rid,
                            patch={"data": {"secret": "t"}})
    inside = ResourceWrite(op="patch", resource_type="bees", resource_id=rid,
                           patch={"data": {"n": 3}})
    error = refused(w, lambda: w.tx.commit(ctx, w.org, [inside, outside]))
    assert error.field == "items[1].data.secret"
    replace = ResourceWrite(op="replace", resource_type="bees", resource_id=rid,
                            content=Content(data={"n": 4}))
    assert [a.version for a in w.tx.commit(ctx, w.org, [inside, replace]).items] == [2, 3]
    ops = BulkCommands(store, JsonSchemas(), retries=3)
    submitted = ops.submit(ctx, w.org, [outside, inside])
    assert ops.process(submitted.stream_id)
    results = [r for e in store.load(submitted.stream_id) for r in getattr(e.event, "results", ())]
    assert [(r.success, r.error) for r in results] == [(False, "permission_denied"), (True, None)]
    assert replayed(store.load(rid))[0].data == {"n": 3, "secret": "s"}
