"""Relationships between resources over HTTP: a parent cycle refused, a delete refused while
others depend on the resource unless it cascades, and related resources inlined by expand."""

from __future__ import annotations

from typing import Any

from litestar.testing import TestClient

from tests.integration.test_resources import create, get, with_type


def _put(client: TestClient[Any], org: str, rid: str, relationships: list[dict[str, str]],
         ) -> Any:
    return client.put(f"/v1/resources/bees/{rid}", params={"organization_id": org},
                      json={"data": {"name": "again"}, "relationships": relationships})


def test_a_parent_cycle_is_refused_and_changes_nothing(client: TestClient[Any]) -> None:
    org = with_type(client)
    a = create(client, org, {"data": {"name": "a"}}).json()["id"]
    b = create(client, org, {"data": {"name": "b"}, "relationships": [
        {"type": "parent", "id": a}]}).json()["id"]
    c = create(client, org, {"data": {"name": "c"}, "relationships": [
        {"type": "parent", "id": b}]}).json()["id"]
    looped = _put(client, org, a, [{"type": "parent", "id": c}])
    assert looped.status_code == 422, looped.text
    assert looped.json()["error"]["reason"] == "relationship_cycle"
    assert _put(client, org, a, [{"type": "parent", "id": a}]).status_code == 422
    assert _put(client, org, a, [{"type": "reference", "id": c}]).status_code == 200
    assert _put(client, org, c, [{"type": "parent", "id": a}]).status_code == 200


def test_a_resource_others_depend_on_is_deleted_only_with_cascade(
        client: TestClient[Any]) -> None:
    org = with_type(client)
    params = {"organization_id": org}
    base = create(client, org, {"data": {"name": "base"}}).json()["id"]
    user = create(client, org, {"data": {"name": "user"}, "relationships": [
        {"type": "dependency", "id": base}]}).json()["id"]
    deeper = create(client, org, {"data": {"name": "deeper"}, "relationships": [
        {"type": "dependency", "id": user}]}).json()["id"]
    refused = client.delete(f"/v1/resources/bees/{base}", params=params)
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["reason"] == "resource_has_dependents"
    assert "2" in refused.json()["error"]["message"]
    gone = client.delete(f"/v1/resources/bees/{base}", params={**params, "cascade": "true"})
    assert gone.status_code == 200, gone.text
    position = gone.json()["position"]
    for rid in (base, user, deeper):
        assert get(client, org, f"/v1/resources/bees/{rid}", position).json()[
            "status"] == "deleted"


def test_expand_inlines_parents_up_to_the_depth_asked(client: TestClient[Any]) -> None:
    org = with_type(client)
    a = create(client, org, {"data": {"name": "a"}}).json()["id"]
    b = create(client, org, {"data": {"name": "b"}, "relationships": [
        {"type": "parent", "id": a}]}).json()["id"]
    made = create(client, org, {"data": {"name": "c"}, "relationships": [
        {"type": "parent", "id": b}]}).json()
    c, position = made["id"], made["position"]
    one = get(client, org, f"/v1/resources/bees/{c}", position,
              expand="relationships.parent").json()
    parent = one["relationships"][0]["resource"]
    assert (parent["id"], parent["data"]["name"]) == (b, "b")
    assert "resource" not in parent["relationships"][0]
    two = get(client, org, f"/v1/resources/bees/{c}",
              expand="relationships.parent.parent").json()
    assert two["relationships"][0]["resource"]["relationships"][0]["resource"]["id"] == a
    listed = get(client, org, "/v1/resources/bees", position, expand="relationships.parent",
                 order="data.name.asc").json()["data"]
    assert [r["relationships"][0]["resource"]["id"] if r["relationships"] else None
            for r in listed] == [None, a, b]
    too_deep = get(client, org, f"/v1/resources/bees/{c}",
                   expand="relationships.parent.parent.parent.parent")
    assert too_deep.status_code == 400
