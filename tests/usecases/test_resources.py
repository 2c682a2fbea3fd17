"""Resource use cases on the in-memory store: the upsert race, If-Match, the schema check, and
random histories whose folded state is what the read model's row function makes of them."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commands.organizations import OrganizationCommands
from commands.resource_types import ResourceTypeCommands
from commands.resources import ResourceCommands, patched
from commands.runner import VersionConflict
from domain.errors import DomainError, InvalidValue, NotFound
from domain.resource import decider as res
from domain.resource.commands import ArchiveResource, Content, DeleteResource, RestoreResource
from domain.resource.stamps import replayed
from domain.resource_type.commands import RegisterResourceType
from infra.jsonschemas import JsonSchemas
from projections.resources import row_change
from tests.builders import context
from tests.usecases.conftest import RacingStore, new_org

SCHEMA: dict[str, Any] = {"type": "object", "properties": {"n": {"type": "integer"}}}


def world(store: RacingStore) -> tuple[ResourceCommands, UUID]:
    org = new_org(OrganizationCommands(store, retries=3))
    schemas = JsonSchemas()
    ResourceTypeCommands(store, schemas).register(context(), RegisterResourceType(
        organization_id=org, name="bees", schema=SCHEMA))
    return ResourceCommands(store, schemas, retries=3), org


def test_an_upsert_that_loses_the_race_for_a_new_key_replaces_what_the_winner_created(
        store: RacingStore) -> None:
    resources, org = world(store)
    store.rivals.append(lambda: resources.upsert(context(), org, "bees", "k",
                                                 Content(data={"n": 1})))
    ours = resources.upsert(context(), org, "bees", "k", Content(data={"n": 2}))
    assert ours.version == 2
    assert ours.stream_id == res.key_stream_id(org, "bees", "k")
    [created, replaced] = store.load(ours.stream_id)
    assert (created.event.data, replaced.event.data) == ({"n": 1}, {"n": 2})  # type: ignore[union-attr]


def test_a_stale_expected_version_is_refused_and_appends_nothing(store: RacingStore) -> None:
    resources, org = world(store)
    made = resources.create(context(), org, "bees", Content(data={"n": 1}))
    head = len(store.log)
    with pytest.raises(VersionConflict):
        resources.replace(context(), org, "bees", made.stream_id, Content(data={"n": 2}),
                          expected_version=5)
    assert len(store.log) == head


def test_data_against_the_schema_is_refused_with_its_pointer_and_an_unknown_type_is_404(
        store: RacingStore) -> None:
    resources, org = world(store)
    with pytest.raises(InvalidValue) as caught:
        resources.create(context(), org, "bees", Content(data={"n": "one"}))
    assert (caught.value.code, caught.value.field) == ("data_invalid", "/data/n")
    with pytest.raises(NotFound) as unknown:
        resources.create(context(), org, "wasps", Content(data={}))
    assert unknown.value.code == "resource_type_not_found"


def test_a_resource_is_not_found_under_another_type_or_organization(store: RacingStore) -> None:
    resources, org = world(store)
    made = resources.create(context(), org, "bees", Content(data={}))
    for where, kind in ((org, "wasps"), (UUID(int=9), "bees")):
        with pytest.raises(NotFound):
            resources.transition(context(), where, kind, made.stream_id, DeleteResource())


def test_a_merge_patch_that_makes_no_resource_is_refused() -> None:
    with pytest.raises(InvalidValue) as caught:
        patched(Content(data={"n": 1}), {"data": 5})
    assert caught.value.code == "patch_invalid"
    assert patched(Content(data={"n": 1}, labels={"a": "b"}), {
        "data": {"m": 2}, "metadata": {"labels": {"a": None}, "tags": ["t"]}}) == Content(
        data={"n": 1, "m": 2}, tags=("t",))


values = st.none() | st.integers(-5, 5) | st.text(max_size=3)
patches = st.dictionaries(st.sampled_from(["n", "x", "y"]), values, max_size=3)
steps = st.lists(st.one_of(
    st.tuples(st.just("replace"), patches), st.tuples(st.just("patch"), patches),
    st.tuples(st.sampled_from(["delete", "archive", "restore"]), st.just({}))), max_size=12)


def run(resources: ResourceCommands, org: UUID, rid: UUID, op: str, doc: dict[str, Any]) -> None:
    """One step; a step the resource's status refuses is a no-op, as over HTTP."""
    data = {k: v for k, v in doc.items() if isinstance(v, int)}  # the schema's n is an integer
    transitions = {"delete": DeleteResource(), "archive": ArchiveResource(),
                   "restore": RestoreResource()}
    try:
        if op == "replace":
            resources.replace(context(), org, "bees", rid, Content(data=data, tags=tuple(doc)))
        elif op == "patch":
            resources.patch(context(), org, "bees", rid, {"data": {
                k: v for k, v in doc.items() if v is None or isinstance(v, int)}})
        else:
            resources.transition(context(), org, "bees", rid, transitions[op])
    except DomainError:
        pass


def rows(envelopes: list[Any]) -> dict[str, Any]:
    """The read model's row, made by its row function from the events in order."""
    row: dict[str, Any] = {}
    for e in envelopes:
        change = row_change(e)
        assert change is not None
        kind, values = change
        row = {**values, "version": e.version} if kind == "insert" else {
            **row, **values, "version": e.version}
    return row


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(first=patches, history=steps)
def test_after_any_history_the_read_models_row_is_the_state_folded_from_the_events(
        first: dict[str, Any], history: list[tuple[str, dict[str, Any]]]) -> None:
    store = RacingStore()
    resources, org = world(store)
    rid = resources.create(context(), org, "bees", Content(
        data={k: v for k, v in first.items() if isinstance(v, int)})).stream_id
    for op, doc in history:
        run(resources, org, rid, op, doc)
    envelopes = store.load(rid)
    state = res.DECIDER.fold(res.INITIAL, (e.event for e in envelopes))
    row = rows(envelopes)
    assert (row["status"], row["type"], row["type_version"], row["external_key"]) == (
        state.status, state.resource_type, state.type_version, state.external_key)
    assert (row["data"], row["tags"], row["labels"], row["annotations"]) == (
        state.data, list(state.tags), state.labels, state.annotations)
    assert row["relationships"] == msgspec.to_builtins(state.relationships)
    assert (row["checksum"], row["size"], row["version"]) == (
        state.checksum, state.size, envelopes[-1].version)
    assert (row["deleted_at"] is not None) == (state.status == "deleted")
    stamped, version = replayed(envelopes)
    assert (stamped.created_by, stamped.updated_by, stamped.deleted_at, version) == (
        row["created_by"], row["updated_by"], row["deleted_at"], row["version"])
    assert (stamped.created_at, stamped.updated_at) == (
        envelopes[0].occurred_at, envelopes[-1].occurred_at)
