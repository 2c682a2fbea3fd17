"""Storage and users come from ClickHouse: resources created and deleted, users invited and
removed, reach `/v1/usage` and the meter through the ClickHouse projectors; a figure only the
PostgreSQL read models hold is not counted."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import msgspec
import psycopg
from litestar.testing import TestClient

from domain.organization.plans import PLAN_QUOTAS
from domain.usage.events import LimitReached, ThresholdReached
from infra.eventstore import EventStore
from infra.settings import Settings
from tests.conftest import wait_until
from tests.integration.identity import invite
from tests.integration.test_resources import create, with_type
from tests.integration.test_usage import measure, metered, usage_events

__all__ = ["metered"]  # the module's fixture, shared with test_usage


def populated(client: TestClient[Any]) -> tuple[str, list[str], list[str]]:
    """An organization with three resources (one deleted) and three users (one removed)."""
    org = with_type(client)
    params = {"organization_id": org}
    resources = [create(client, org, {"data": {"name": "x" * n}}).json()["id"]
                 for n in (10, 200, 3000)]
    users = [invite(client, org)[1]["id"] for _ in range(3)]
    assert client.delete(f"/v1/resources/bees/{resources[2]}", params=params).status_code == 200
    assert client.delete(f"/v1/users/{users[2]}").status_code == 200
    return org, resources, users


def usage(client: TestClient[Any], org: str) -> dict[str, Any]:
    found = client.get("/v1/usage", params={"organization_id": org})
    assert found.status_code == 200, found.text
    return found.json()  # type: ignore[no-any-return]


def stored_in_postgres(settings: Settings, org: str) -> int:
    with psycopg.connect(settings.database_url) as conn:
        found = conn.execute("SELECT sum(size) FROM resources WHERE organization_id = %s"
                             " AND status <> 'deleted'", (org,)).fetchone()
    assert found is not None
    return int(found[0])


def test_storage_and_users_are_the_live_resources_and_users_in_clickhouse(
        metered: TestClient[Any], settings: Settings) -> None:
    org, _, _ = populated(metered)
    wait_until(lambda: usage(metered, org)["metrics"]["users"] == 2, timeout=30,
               message="the removed user left out of the users in ClickHouse")
    # The live resources' sizes, as the PostgreSQL read model has them once caught up.
    expected = {"storage": stored_in_postgres(settings, org), "users": 2}
    wait_until(lambda: {k: usage(metered, org)["metrics"][k] for k in expected} == expected,
               timeout=30, message="the deleted resource left out of the storage in ClickHouse")
    assert 200 < expected["storage"] < 3000  # the deleted resource's 3,000 bytes not counted
    statement = metered.get("/v1/usage/statements", params={"organization_id": org}).json()
    assert {k: statement["data"][0]["metrics"][k] for k in expected} == expected


def test_a_figure_only_the_postgresql_read_models_hold_is_not_counted(
        metered: TestClient[Any], settings: Settings) -> None:
    org, _, _ = populated(metered)
    wait_until(lambda: usage(metered, org)["metrics"]["users"] == 2, timeout=30,
               message="the users in ClickHouse")
    before = usage(metered, org)["metrics"]
    with psycopg.connect(settings.database_url) as conn:
        conn.execute("UPDATE resources SET size = size + 1000000, status = 'active'"
                     " WHERE organization_id = %s", (org,))
        conn.execute("UPDATE users SET removed_at = NULL, status = 'active'"
                     " WHERE organization_id = %s", (org,))
    after = usage(metered, org)["metrics"]
    assert (after["storage"], after["users"]) == (before["storage"], before["users"]) == (
        before["storage"], 2)


def test_the_meter_warns_and_stops_on_users_counted_in_clickhouse(
        metered: TestClient[Any], settings: Settings, store: EventStore) -> None:
    org, _, _ = populated(metered)
    wait_until(lambda: usage(metered, org)["metrics"]["users"] == 2, timeout=30,
               message="the users in ClickHouse")
    meter = metered.app.state.container.meter
    meter.quotas = {**PLAN_QUOTAS, "enterprise": msgspec.structs.replace(
        PLAN_QUOTAS["enterprise"], users=2)}
    try:
        measure(metered)
    finally:
        meter.quotas = None
    events = usage_events(store, org)
    assert [(type(e), e.metric, e.used, e.limit) for e in events] == [
        (ThresholdReached, "users", 2, 2), (LimitReached, "users", 2, 2)]
    assert events[0].period == datetime.now(UTC).strftime("%Y-%m")
    assert uuid.UUID(org) not in meter.blocked  # enterprise: served on (overage)
