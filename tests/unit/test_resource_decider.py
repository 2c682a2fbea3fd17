"""The resource decider: given events / when command / then events or the refusal."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from api.platform.i18n import CATALOG, placeholders, render
from domain.errors import AlreadyExists, DomainError, InvalidState, InvalidValue, NotFound
from domain.limits import MAX_DATA_BYTES, MAX_RELATIONSHIPS, MAX_TAGS
from domain.resource import decider as res
from domain.resource.commands import (
    ArchiveResource,
    Content,
    CreateResource,
    DeleteResource,
    PatchResource,
    ReplaceResource,
    RestoreResource,
    UpsertResource,
)
from domain.resource.document import canonical, checksum
from domain.resource.events import (
    Relationship,
    ResourceArchived,
    ResourceCreated,
    ResourceDeleted,
    ResourcePatched,
    ResourceReplaced,
    ResourceRestored,
)
from tests.unit.spec import Specification

ORG = UUID(int=7)
spec = Specification(res.DECIDER)
BEE = Content(data={"name": "Maya", "legs": 6}, tags=("insect",), labels={"colour": "yellow"})
WASP = Content(data={"name": "Vespa"})


def created(content: Content = BEE, key: str | None = None) -> ResourceCreated:
    encoded = canonical(content.data)
    return ResourceCreated(organization_id=ORG, resource_type="bees", external_key=key,
                           type_version=1, data=content.data, tags=content.tags,
                           labels=content.labels, annotations=content.annotations,
                           relationships=content.relationships, checksum=checksum(encoded),
                           size=len(encoded))


CREATED = created()
CREATE = CreateResource(organization_id=ORG, resource_type="bees", type_version=1, content=BEE)


def test_a_resource_is_created_with_the_checksum_and_size_of_its_canonical_data() -> None:
    [event] = spec.given().when(CREATE).decided()
    assert event == CREATED
    assert event.size == len(b'{"legs":6,"name":"Maya"}')
    assert event.checksum == checksum(b'{"legs":6,"name":"Maya"}')


def test_equal_data_has_an_equal_checksum_whatever_the_order_of_its_keys() -> None:
    assert canonical({"b": [1, {"y": 1, "x": "é"}], "a": None}) == \
        canonical({"a": None, "b": [1, {"x": "é", "y": 1}]})


def test_a_resource_is_created_once() -> None:
    spec.given(CREATED).when(CREATE).then_raises(AlreadyExists)


def test_a_replace_stores_the_new_content_under_the_type_version_it_was_checked_against() -> None:
    [event] = spec.given(CREATED).when(ReplaceResource(type_version=2, content=WASP)).decided()
    assert isinstance(event, ResourceReplaced)
    assert (event.type_version, event.data, event.tags) == (2, {"name": "Vespa"}, ())
    state = spec.given(CREATED, event).state
    assert (state.data, state.type_version, state.status) == ({"name": "Vespa"}, 2, "active")


def test_a_patch_stores_the_document_it_produced() -> None:
    [event] = spec.given(CREATED).when(PatchResource(type_version=1, content=WASP)).decided()
    assert isinstance(event, ResourcePatched)
    assert event.data == {"name": "Vespa"}


def test_nothing_but_a_resource_can_be_written_deleted_archived_or_restored() -> None:
    for command in (ReplaceResource(type_version=1, content=BEE), DeleteResource(),
                    ArchiveResource(), RestoreResource()):
        assert spec.given().when(command).then_code() == "resource_not_found"
    spec.given().when(DeleteResource()).then_raises(NotFound)


def test_delete_is_soft_and_a_deleted_resource_takes_no_new_content() -> None:
    spec.given(CREATED).when(DeleteResource()).then(ResourceDeleted())
    deleted = spec.given(CREATED, ResourceDeleted())
    assert deleted.state.status == "deleted"
    assert deleted.state.data == BEE.data
    assert deleted.when(ReplaceResource(type_version=1, content=WASP)).then_code() == \
        "resource_deleted"
    deleted.when(DeleteResource()).then()
    deleted.when(ArchiveResource()).then_raises(InvalidState)


def test_an_archived_resource_is_restored_before_it_is_written_again() -> None:
    spec.given(CREATED).when(ArchiveResource()).then(ResourceArchived())
    archived = spec.given(CREATED, ResourceArchived())
    assert archived.when(PatchResource(type_version=1, content=WASP)).then_code() == \
        "resource_archived"
    archived.when(ArchiveResource()).then()
    archived.when(RestoreResource()).then(ResourceRestored())
    spec.given(CREATED, ResourceDeleted()).when(RestoreResource()).then(ResourceRestored())
    spec.given(CREATED).when(RestoreResource()).then()
    assert spec.given(CREATED, ResourceArchived(), ResourceRestored()).state.status == "active"


def test_an_upsert_creates_with_its_key_then_replaces() -> None:
    upsert = UpsertResource(organization_id=ORG, resource_type="bees", type_version=1,
                            external_key="bee-1", content=BEE)
    spec.given().when(upsert).then(created(key="bee-1"))
    [event] = spec.given(created(key="bee-1")).when(upsert).decided()
    assert isinstance(event, ResourceReplaced)
    assert spec.given(created(key="bee-1"), ResourceDeleted()).when(upsert).then_code() == \
        "resource_deleted"


def test_a_key_names_one_stream_per_organization_and_type() -> None:
    one = res.key_stream_id(ORG, "bees", "k")
    assert one == res.key_stream_id(ORG, "bees", "k")
    assert one not in {res.key_stream_id(ORG, "wasps", "k"), res.key_stream_id(UUID(int=8),
                                                                                 "bees", "k")}


@pytest.mark.parametrize("key", ["", "-lead", "has space", "a/b", "k" * 201])
def test_an_external_key_outside_its_alphabet_or_length_is_refused(key: str) -> None:
    upsert = UpsertResource(organization_id=ORG, resource_type="bees", type_version=1,
                            external_key=key, content=BEE)
    spec.given().when(upsert).then_raises(InvalidValue, field="key")


@pytest.mark.parametrize(("content", "code"), [
    (Content(data={"x": "a" * MAX_DATA_BYTES}), "data_too_large"),
    (Content(data={"x": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}),
     "data_too_deep"),
    (Content(data={}, tags=("t",) * (MAX_TAGS + 1)), "resource_metadata_too_large"),
    (Content(data={}, labels={"k": "v" * 201}), "resource_metadata_too_large"),
    (Content(data={}, relationships=(Relationship(type="parent", id=UUID(int=1)),)
             * (MAX_RELATIONSHIPS + 1)), "relationships_too_many"),
])
def test_content_past_its_bounds_is_refused(content: Content, code: str) -> None:
    command = CreateResource(organization_id=ORG, resource_type="bees", type_version=1,
                             content=content)
    assert spec.given().when(command).then_code() == code


def test_evolve_ignores_what_it_does_not_know() -> None:
    assert res.evolve(res.INITIAL, object()) == res.INITIAL  # type: ignore[arg-type]


def _upsert(key: str) -> UpsertResource:
    return UpsertResource(organization_id=ORG, resource_type="bees", type_version=1,
                          external_key=key, content=BEE)


REFUSALS: dict[str, Any] = {
    "resource_exists": lambda: res.decide(CREATE, spec.given(CREATED).state),
    "resource_not_found": lambda: res.decide(DeleteResource(), res.INITIAL),
    "resource_deleted": lambda: res.decide(ArchiveResource(), spec.given(
        CREATED, ResourceDeleted()).state),
    "resource_archived": lambda: res.decide(ReplaceResource(type_version=1, content=BEE),
                                            spec.given(CREATED, ResourceArchived()).state),
    "external_key_invalid": lambda: res.decide(_upsert("-"), res.INITIAL),
    "data_too_large": lambda: res.decide(ReplaceResource(type_version=1, content=Content(
        data={"x": "a" * MAX_DATA_BYTES})), spec.given(CREATED).state),
    "resource_metadata_too_large": lambda: res.decide(ReplaceResource(
        type_version=1, content=Content(data={}, tags=("t",) * 51)), spec.given(CREATED).state),
    "relationships_too_many": lambda: res.decide(ReplaceResource(
        type_version=1, content=Content(data={}, relationships=(Relationship(
            type="child", id=ORG),) * 51)), spec.given(CREATED).state),
}


@pytest.mark.parametrize("code", sorted(REFUSALS))
def test_every_refusal_says_what_the_catalog_says_with_its_parameters(code: str) -> None:
    with pytest.raises(DomainError) as caught:
        REFUSALS[code]()
    error, entry = caught.value, CATALOG[code]
    assert error.code == code
    assert set(error.params) == placeholders(entry.en)
    assert render(code, "en", error.params) == error.message
