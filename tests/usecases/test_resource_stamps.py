"""A grant's filters on who wrote a resource and when (createdBy, updatedBy, createdAt,
updatedAt) bind every write path as the other filters do, on the in-memory store: one the
key cannot see is not found to it, one a write would leave outside them is refused, and in
each case nothing is written."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any
from uuid import UUID

import msgspec
import pytest

from commands.bulk import BulkCommands
from commands.runner import Context
from domain.envelope import Actor
from domain.errors import DomainError, Forbidden, NotFound
from domain.permissions import ApiPermission, Conditions
from domain.resource.commands import ArchiveResource, Content, DeleteResource, RestoreResource
from domain.resource.stamps import replayed
from domain.resource.writes import ResourceWrite
from infra.jsonschemas import JsonSchemas
from tests.builders import context
from tests.usecases.conftest import RacingStore
from tests.usecases.test_transactions import World

KEY = "api_key:k1"


def as_key(**filters: str) -> Context:
    """The key k1, whose one grant admits only resources matching ``filters``."""
    grant = ApiPermission(resource="resources", actions=("create", "read", "update", "delete"),
                          conditions=Conditions(filters=dict(filters)))
    return dataclasses.replace(context(), actor=Actor(kind="api_key", id="k1"),
                               grants=((grant,),))


def made_by_key(w: World) -> UUID:
    return w.resources.create(dataclasses.replace(context(), actor=Actor(
        kind="api_key", id="k1")), w.org, "bees", Content(data={"n": 1})).stream_id


def refused(w: World, error: type[DomainError], write: Callable[[], Any]) -> DomainError:
    head = len(w.store.log)  # type: ignore[attr-defined]
    with pytest.raises(error) as caught:
        write()
    assert len(w.store.log) == head  # type: ignore[attr-defined]
    return caught.value


@pytest.fixture
def w(store: RacingStore) -> World:
    world = World(store)
    world.store = store  # type: ignore[attr-defined]
    return world


def test_the_state_folded_from_a_stream_holds_who_wrote_it_and_when(w: World) -> None:
    rid = w.made()
    w.resources.patch(as_key(), w.org, "bees", rid, {"data": {"n": 2}})
    w.resources.transition(as_key(), w.org, "bees", rid, DeleteResource())
    envelopes = w.store.load(rid)  # type: ignore[attr-defined]
    state, version = replayed(envelopes)
    assert (state.created_by, state.updated_by, version) == ("system:tests", KEY, 3)
    assert (state.created_at, state.updated_at, state.deleted_at) == (
        envelopes[0].occurred_at, envelopes[-1].occurred_at, envelopes[-1].occurred_at)
    w.resources.transition(context(), w.org, "bees", rid, RestoreResource())
    assert replayed(w.store.load(rid))[0].deleted_at is None  # type: ignore[attr-defined]


def test_a_created_by_filter_hides_what_others_made_from_every_single_write(w: World) -> None:
    theirs, ctx = w.made(), as_key(createdBy=KEY)
    for write in (
            lambda: w.resources.replace(ctx, w.org, "bees", theirs, Content(data={"n": 2})),
            lambda: w.resources.patch(ctx, w.org, "bees", theirs, {"data": {"n": 2}}),
            lambda: w.resources.transition(ctx, w.org, "bees", theirs, ArchiveResource()),
            lambda: w.resources.transition(ctx, w.org, "bees", theirs, RestoreResource()),
            lambda: w.resources.delete(ctx, w.org, "bees", theirs)):
        refused(w, NotFound, write)
    w.resources.upsert(context(), w.org, "bees", "theirs", Content(data={"n": 1}))
    refused(w, NotFound, lambda: w.resources.upsert(ctx, w.org, "bees", "theirs",
                                                     Content(data={"n": 2})))


def test_a_created_by_filter_lets_the_key_write_what_it_made_on_every_single_path(
        w: World) -> None:
    ctx = as_key(createdBy=KEY)
    mine = w.resources.create(ctx, w.org, "bees", Content(data={"n": 1})).stream_id
    assert w.resources.replace(ctx, w.org, "bees", mine, Content(data={"n": 2})).version == 2
    assert w.resources.patch(ctx, w.org, "bees", mine, {"data": {"n": 3}}).version == 3
    assert w.resources.transition(ctx, w.org, "bees", mine, ArchiveResource()).version == 4
    assert w.resources.transition(ctx, w.org, "bees", mine, RestoreResource()).version == 5
    assert w.resources.upsert(ctx, w.org, "bees", "mine", Content(data={"n": 1})).version == 1
    assert w.resources.upsert(ctx, w.org, "bees", "mine", Content(data={"n": 2})).version == 2
    assert w.resources.delete(ctx, w.org, "bees", mine).version == 6


def test_a_key_cannot_create_what_its_created_by_filter_would_not_admit(w: World) -> None:
    ctx = as_key(createdBy="api_key:someone-else")
    refused(w, Forbidden, lambda: w.resources.create(ctx, w.org, "bees", Content(data={})))
    refused(w, Forbidden, lambda: w.resources.upsert(ctx, w.org, "bees", "new",
                                                      Content(data={})))


def test_an_updated_by_filter_admits_what_the_key_wrote_last_and_no_other(w: World) -> None:
    mine, theirs = made_by_key(w), w.made()
    ctx = as_key(updatedBy=KEY)
    refused(w, NotFound, lambda: w.resources.patch(ctx, w.org, "bees", theirs, {"data": {"n": 2}}))
    assert w.resources.patch(ctx, w.org, "bees", mine, {"data": {"n": 2}}).version == 2
    w.resources.patch(context(), w.org, "bees", mine, {"data": {"n": 3}})  # someone else's now
    refused(w, NotFound, lambda: w.resources.patch(ctx, w.org, "bees", mine, {"data": {"n": 4}}))


def test_a_timestamp_filter_binds_what_a_write_acts_on_and_what_it_leaves(w: World) -> None:
    first, other = w.made(), w.made()
    [created] = w.store.load(first)  # type: ignore[attr-defined]
    at = msgspec.to_builtins(created.occurred_at)
    refused(w, NotFound, lambda: w.resources.patch(as_key(createdAt=at), w.org, "bees", other,
                                                    {"data": {"n": 2}}))
    assert w.resources.patch(as_key(createdAt=at), w.org, "bees", first,
                             {"data": {"n": 2}}).version == 2
    [_, patched] = w.store.load(first)  # type: ignore[attr-defined]
    pinned = as_key(updatedAt=msgspec.to_builtins(patched.occurred_at))
    error = refused(w, Forbidden, lambda: w.resources.patch(pinned, w.org, "bees", first,
                                                             {"data": {"n": 3}}))
    assert error.code == "permission_denied"  # the write would leave it updated now


def test_a_transaction_item_and_a_bulk_item_meet_the_created_by_filter(
        w: World, store: RacingStore) -> None:
    theirs, ctx = w.made(), as_key(createdBy=KEY)
    patch = ResourceWrite(op="patch", resource_type="bees", resource_id=theirs,
                          patch={"data": {"n": 2}})
    error = refused(w, NotFound, lambda: w.tx.commit(ctx, w.org, [patch]))
    assert error.field == "items[0]"
    error = refused(w, Forbidden, lambda: w.tx.commit(as_key(createdBy="user:u"), w.org, [
        ResourceWrite(op="create", resource_type="bees", content=Content(data={}))]))
    assert (error.code, error.field) == ("permission_denied", "items[0]")
    done = w.tx.commit(ctx, w.org, [
        ResourceWrite(op="create", resource_type="bees", content=Content(data={}))])
    assert [a.version for a in done.items] == [1]
    ops = BulkCommands(store, JsonSchemas(), retries=3)
    submitted = ops.submit(ctx, w.org, [
        patch, ResourceWrite(op="create", resource_type="bees", content=Content(data={})),
        ResourceWrite(op="patch", resource_type="bees", resource_id=done.items[0].resource_id,
                      patch={"data": {"n": 5}})])
    assert ops.process(submitted.stream_id)
    results = [r for e in store.load(submitted.stream_id) for r in getattr(e.event, "results", ())]
    assert [(r.success, r.error) for r in results] == [
        (False, "resource_not_found"), (True, None), (True, None)]
