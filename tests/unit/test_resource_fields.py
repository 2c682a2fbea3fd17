"""What a grant's fields let a key write: the paths a write changes, whether the fields cover
them, and a replace keeping what the key may not write."""

from __future__ import annotations

import pytest

from domain.errors import Forbidden
from domain.permissions import ApiPermission, Conditions
from domain.resource.commands import Content
from domain.resource.decider import Resource
from domain.resource.fields import changed, check_fields, covered, kept

BEES = "resources:bees"


def only(*fields: str) -> tuple[tuple[ApiPermission, ...], ...]:
    return ((ApiPermission(resource="resources", actions=("create", "read", "update", "delete"),
                           conditions=Conditions(fields=fields)),),)


def active(data: dict[str, object], tags: tuple[str, ...] = ()) -> Resource:
    return Resource(status="active", resource_type="bees", data=data, tags=tags)


def test_a_change_is_named_by_the_deepest_path_that_differs() -> None:
    before = {"data": {"name": "Maya", "hive": {"city": "Oslo"}}, "tags": ["a"]}
    after = {"data": {"name": "Maya", "hive": {"city": "Bergen", "size": 3}, "new": {"x": 1}},
             "tags": ["a", "b"]}
    assert list(changed(before, after)) == [
        "data.hive.city", "data.hive.size", "data.new.x", "tags"]
    assert list(changed({"a": "text"}, {"a": {"b": 1}})) == ["a"]
    assert list(changed({}, {"a": {}})) == ["a"]
    assert list(changed({"a": 1}, {"a": 1})) == []
    assert list(changed({"a": 1, "b": [1]}, {"a": True, "b": [1.0]})) == ["a", "b"]


def test_a_field_covers_itself_and_what_is_inside_it_only() -> None:
    fields = frozenset({"data.hive", "status"})
    assert covered("data.hive", fields)
    assert covered("data.hive.city", fields)
    assert not covered("data.hiveless", fields)
    assert not covered("data", fields)


def test_a_write_outside_the_fields_is_refused_naming_the_path() -> None:
    before = active({"name": "Maya", "legs": 6})
    check_fields(only("data.name"), "update", BEES, before, active({"name": "Queen", "legs": 6}))
    with pytest.raises(Forbidden) as caught:
        check_fields(only("data.name"), "update", BEES, before, active({"name": "Maya"}))
    assert (caught.value.code, caught.value.field) == ("permission_denied", "data.legs")


def test_a_create_writes_its_data_but_not_its_status_and_an_archive_writes_status() -> None:
    check_fields(only("data.name"), "create", BEES, Resource(), active({"name": "Maya"}))
    with pytest.raises(Forbidden) as caught:
        check_fields(only("data.name"), "update", BEES, active({"name": "Maya"}), Resource(
            status="archived", resource_type="bees", data={"name": "Maya"}))
    assert caught.value.field == "status"


def test_a_replace_keeps_what_the_key_may_not_write_and_sends_on_a_different_value() -> None:
    current = Content(data={"name": "Maya", "legs": 6, "hive": {"city": "Oslo"}}, tags=("t",))
    sent = Content(data={"name": "Queen", "hive": {}})
    assert kept(only("data.name"), BEES, current, sent) == Content(
        data={"name": "Queen", "legs": 6, "hive": {"city": "Oslo"}}, tags=("t",))
    assert kept(only("data.name"), BEES, current, Content(data={})).data == {
        "legs": 6, "hive": {"city": "Oslo"}}
    other = kept(only("data.name"), BEES, current, Content(data={"legs": 8}))
    assert other.data["legs"] == 8  # check_fields refuses it
    assert kept(None, BEES, current, sent) == sent
