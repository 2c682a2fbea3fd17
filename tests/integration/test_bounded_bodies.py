"""Every write route's body, generated from the route table: a NUL or an over-long value in any
field (nested ones and list items included) is refused with 4xx and writes nothing. A new
route fails these tests until its body is a `Body` (api/platform/bodies.py) with every field bounded."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
from litestar import Litestar, post
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody
from litestar.testing import TestClient

from api.app import create_app
from api.organizations.schemas import SuspendBody
from infra.eventstore import EventStore
from infra.settings import Settings, load_settings
from tests.integration.bodies import (
    NO_JSON_BODY,
    WALK_TYPE,
    Spot,
    WriteRoute,
    decodes,
    is_body,
    sample,
    too_long,
    with_nul,
    write_routes,
)
from tests.integration.conftest import AUTH, HTTPS

# The route table, read at collection (building the app connects to nothing).
ROUTES = write_routes(create_app(load_settings({})))
WITH_BODY = [r for r in ROUTES if r.body is not None]
FORM = "application/x-www-form-urlencoded"


def label(route: WriteRoute) -> str:
    return f"{route.method} {route.path}"


def test_every_write_route_takes_a_body_of_the_shared_base_or_none_by_decision() -> None:
    assert [label(r) for r in WITH_BODY if not is_body(r.body)] == []  # type: ignore[arg-type]
    assert {(r.method, r.path) for r in ROUTES if r.body is None} == NO_JSON_BODY


def test_a_body_a_route_receives_through_a_provider_is_in_the_route_table_too() -> None:
    def reason(data: JSONBody[SuspendBody]) -> str:
        return data.reason

    @post("/suspend", dependencies={"reason": Provide(reason, sync_to_thread=False)})
    async def suspend(reason: NamedDependency[str]) -> str:
        return reason

    assert write_routes(Litestar([suspend])) == [WriteRoute("POST", "/suspend", SuspendBody)]


@pytest.mark.parametrize("route", WITH_BODY, ids=label)
def test_every_string_list_map_and_number_a_client_sends_is_bounded(route: WriteRoute) -> None:
    assert route.body is not None
    body, spots = sample(route.body)
    assert decodes(route.body, body), body
    unbounded = [s.path for s in spots if s.kind in ("str", "list", "map", "number")
                 and s.max_length is None]
    assert unbounded == []


def is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(value)
    except (TypeError, ValueError):
        return False
    return True


@pytest.fixture(scope="module")
def target(client: TestClient[Any]) -> str:
    """A real organization for the bodies to aim at, so that only the body can refuse them."""
    created = client.post("/v1/organizations", json={"name": "Target", "slug": f"t-{uuid.uuid4()}"})
    assert created.status_code == 201, created.text
    org = str(created.json()["id"])
    assert client.post("/v1/resource-types", json={"name": WALK_TYPE, "schema": {},
                                                   "organizationId": org}).status_code == 201
    return org


def send(client: TestClient[Any], route: WriteRoute, body: Any, org: str) -> Any:
    if isinstance(body, dict) and is_uuid(body.get("organizationId")):  # not the spoiled spot
        body = {**body, "organizationId": org}
    # A form (the dashboard's sign-in) is sent as a form; every other body as JSON.
    encoded = {"data": body} if route.media_type == FORM else {"json": body}
    return client.request(route.method, route.url(organization_id=org, resource_type=WALK_TYPE),
                          params={"organization_id": org}, headers=route.headers, **encoded)


@pytest.mark.parametrize("route", WITH_BODY, ids=label)
def test_a_nul_in_any_string_of_any_write_body_is_refused_with_422_and_nothing_is_written(
        client: TestClient[Any], store: EventStore, target: str, route: WriteRoute) -> None:
    assert route.body is not None
    body, spots = sample(route.body)
    head = store.head()
    wrong: list[tuple[Any, int, str]] = []
    for spot in spots:
        if spot.kind not in ("str", "fixed", "any"):
            continue
        response = send(client, route, with_nul(body, spot), target)
        said = response.text if response.status_code != 422 else str(
            response.json()["error"]["details"])
        # A free string must be refused for its NUL; a patterned one may fail its pattern first.
        if response.status_code != 422 or (spot.kind != "fixed" and "NUL" not in said):
            wrong.append((spot.path, response.status_code, said[:200]))
    assert wrong == []
    assert store.head() == head


@pytest.mark.parametrize("route", WITH_BODY, ids=label)
def test_an_over_long_value_or_list_in_any_write_body_is_refused_and_nothing_is_written(
        client: TestClient[Any], store: EventStore, target: str, route: WriteRoute) -> None:
    assert route.body is not None
    body, spots = sample(route.body)
    head = store.head()
    wrong = [(spot.path, response.status_code, response.text[:200])
             for spot in bounded(spots) for spoiled in too_long(body, spot)
             if not 400 <= (response := send(client, route, spoiled, target)).status_code < 500]
    assert wrong == []
    assert store.head() == head


def bounded(spots: list[Spot]) -> Iterator[Spot]:
    return (s for s in spots if s.max_length is not None and s.kind != "any")


MEGABYTE = "r" * 1_000_000


@pytest.mark.parametrize(("path", "body"), [
    ("/v1/roles", {"name": "big", "permissions": [{"resource": MEGABYTE, "actions": ["read"]}]}),
    ("/v1/api-keys", {"name": "n", "permissions": [{"resource": MEGABYTE, "actions": ["read"]}]}),
    ("/v1/organizations", {"name": "Big", "slug": "big-origins", "settings": {
        "security": {"allowedOrigins": [f"https://{MEGABYTE}.example"]}}}),
    ("/v1/api-keys", {"name": "n", "permissions": [
        {"resource": "organizations\u0000x", "actions": ["read"]}]}),
    ("/v1/api-keys", {"name": "n\u0000"}),
    ("/v1/oauth/clients", {"name": "n\u0000"}),
], ids=["role-1mb-resource", "key-1mb-resource", "org-1mb-origin", "key-nul-resource",
        "key-nul-name", "client-nul-name"])
def test_the_reported_bodies_are_refused_and_write_nothing(
        client: TestClient[Any], store: EventStore, path: str, body: dict[str, Any]) -> None:
    org = client.post("/v1/organizations", json={"name": "Target", "slug": f"t-{uuid.uuid4()}"})
    head = store.head()
    response = client.post(path, json={**body, "organizationId": org.json()["id"]}
                           if path != "/v1/organizations" else body)
    assert response.status_code == 422, response.text[:300]
    assert store.head() == head


@pytest.fixture(scope="module")
def small_events(settings: Settings, workers: Any) -> Iterator[TestClient[Any]]:
    """The API with MAX_EVENT_BYTES at 4 KiB, so that an allowed body makes too large an event."""
    tight = msgspec.structs.replace(settings, max_event_bytes=4096)
    with TestClient(app=create_app(tight), base_url=HTTPS,
                    raise_server_exceptions=False) as c:
        c.headers.update(AUTH)
        yield c


def test_an_event_over_max_event_bytes_is_refused_with_413_before_it_is_appended(
        small_events: TestClient[Any], store: EventStore) -> None:
    org = small_events.post("/v1/organizations", json={"name": "Tight", "slug": f"t-{uuid.uuid4()}"})
    assert org.status_code == 201, org.text
    head = store.head()
    role = {"name": "wide", "organizationId": org.json()["id"], "description": "d" * 1000,
            "permissions": [{"resource": f"{i:03d}" + "r" * 97, "actions": ["read"]}
                            for i in range(40)]}
    refused = small_events.post("/v1/roles", json=role, headers={"Accept-Language": "ja"})
    assert refused.status_code == 413, refused.text
    error = refused.json()["error"]
    assert (error["code"], error["reason"]) == ("payload_too_large", "event_too_large")
    assert "4096" in error["message"]
    assert "バイト" in error["message"]
    assert store.head() == head
    small = small_events.post("/v1/roles", json={**role, "permissions": role["permissions"][:2]})
    assert small.status_code == 201, small.text


def test_the_topics_take_messages_comfortably_larger_than_max_event_bytes(
        settings: Settings) -> None:
    from confluent_kafka.admin import AdminClient, ConfigResource, ResourceType

    from infra.kafka import create_topics, event_topics, producer_config

    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap_servers})

    def max_bytes(topic: str) -> int:
        [future] = admin.describe_configs([ConfigResource(ResourceType.TOPIC, topic)]).values()
        return int(future.result(timeout=10)["max.message.bytes"].value)

    topic = event_topics(settings)[0]
    assert max_bytes(topic) == settings.kafka_max_message_bytes >= 2 * settings.max_event_bytes
    assert producer_config(settings)["message.max.bytes"] == settings.kafka_max_message_bytes
    # An existing topic is brought to the setting too (then back, for the rest of the run).
    for wanted in (settings.kafka_max_message_bytes + 4096, settings.kafka_max_message_bytes):
        assert create_topics(msgspec.structs.replace(settings, kafka_max_message_bytes=wanted)) == []
        assert max_bytes(topic) == wanted
