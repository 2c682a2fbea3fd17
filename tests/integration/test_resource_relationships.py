"""Relationships between resources over HTTP: a parent cycle refused, a delete refused while
others depend on the resource unless it cascades, and related resources inlined by expand."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

import psycopg
from litestar.testing import TestClient

from infra.settings import Settings
from projections.resource_queries import dependents, dependents_now
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


def test_the_dependents_walk_is_one_query_that_ends_on_a_cycle_sync_or_async(
        client: TestClient[Any], settings: Settings) -> None:
    org = with_type(client)
    ids = [create(client, org, {"data": {"name": "a"}}).json()["id"]]
    for name in ("b", "c"):
        ids.append(create(client, org, {"data": {"name": name}, "relationships": [
            {"type": "dependency", "id": ids[-1]}]}).json()["id"])
    closed = _put(client, org, ids[0], [{"type": "dependency", "id": ids[-1]}]).json()
    get(client, org, f"/v1/resources/bees/{ids[0]}", closed["position"])  # read model has it
    org_id, a = UUID(org), UUID(ids[0])

    async def walked() -> list[UUID]:
        async with await psycopg.AsyncConnection.connect(settings.database_url) as conn:
            return await dependents(conn, org_id, a)

    with psycopg.connect(settings.database_url) as conn:
        now = dependents_now(conn, org_id, a)
    assert sorted(now) == sorted(asyncio.run(walked())) == sorted(map(UUID, ids[1:]))


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
