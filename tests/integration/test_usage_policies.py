"""The plans' policies past a quota on the real services: a paid plan's organization is refused
with 402 Payment Required, its quota, its period and where to upgrade; a refused write writes
nothing; its usage routes, the operator, and the plan change that lifts the block stay open."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest
from litestar.testing import TestClient

from domain.organization.plans import PLAN_QUOTAS
from domain.resource_type.decider import stream_id
from infra.eventstore import EventStore
from infra.settings import Settings
from tests.integration.test_api_keys import as_key, issue, new_org
from tests.integration.test_usage import log_requests, measure, metered

__all__ = ["metered"]  # the module's fixture, shared with test_usage
CALLS = 50  # the starter plan's call quota in these tests


@pytest.fixture
def small_starter(metered: TestClient[Any]) -> Iterator[TestClient[Any]]:
    """The starter plan with a quota of CALLS calls a month, for this test only."""
    meter = metered.app.state.container.meter
    meter.quotas = {**PLAN_QUOTAS, "starter": msgspec.structs.replace(
        PLAN_QUOTAS["starter"], api_calls=CALLS)}
    try:
        yield metered
    finally:
        meter.quotas = None


def blocked_starter(client: TestClient[Any], settings: Settings) -> tuple[str, str]:
    org = new_org(client, plan="starter")["id"]
    key = issue(client, org)
    log_requests(settings, org, CALLS, datetime.now(UTC))
    measure(client)
    return org, key


def test_a_paid_plan_past_its_quota_is_refused_with_402_and_where_to_upgrade(
        small_starter: TestClient[Any], settings: Settings) -> None:
    org, key = blocked_starter(small_starter, settings)
    refused = as_key(small_starter, key, "GET", f"/v1/organizations/{org}")
    assert refused.status_code == 402, refused.text
    assert "Retry-After" not in refused.headers
    error = refused.json()["error"]
    assert (error["code"], error["reason"]) == ("payment_required",
                                                "quota_exceeded_payment_required")
    period = datetime.now(UTC).strftime("%Y-%m")
    assert error["message"] == (f"the starter plan's apiCalls quota for {period} is used up;"
                                " upgrade the plan to go on")
    details = error["details"]
    assert {k: details[k] for k in ("quota", "used", "limit", "period", "plan")} == {
        "quota": "apiCalls", "used": CALLS, "limit": CALLS, "period": period, "plan": "starter"}
    assert details["upgrade"] == {"method": "PATCH", "href": f"/v1/organizations/{org}",
                                  "plans": ["professional", "enterprise"]}
    assert datetime.fromisoformat(details["resetsAt"]) > datetime.now(UTC)


def test_a_refused_write_writes_nothing(small_starter: TestClient[Any], settings: Settings,
                                        store: EventStore) -> None:
    org, key = blocked_starter(small_starter, settings)
    made = as_key(small_starter, key, "POST", "/v1/resource-types",
                  json={"name": "bees", "schema": {"type": "object"}})
    assert made.status_code == 402, made.text
    assert list(store.load(stream_id(uuid.UUID(org), "bees"))) == []


def test_the_usage_routes_and_the_operator_are_never_blocked(
        small_starter: TestClient[Any], settings: Settings) -> None:
    org, key = blocked_starter(small_starter, settings)
    usage = as_key(small_starter, key, "GET", "/v1/usage")
    assert usage.status_code == 200, usage.text
    body = usage.json()
    assert (body["blocked"], body["policy"], body["quotaPolicy"]) == (
        "apiCalls", "block", "block_402")
    assert as_key(small_starter, key, "GET", "/v1/usage/statements").status_code == 200
    assert small_starter.get(f"/v1/organizations/{org}").status_code == 200
    assert small_starter.get("/v1/usage", params={"organization_id": org}).status_code == 200
    made = small_starter.post("/v1/resource-types", json={
        "name": "bees", "schema": {"type": "object"}, "organizationId": org})
    assert made.status_code == 201, made.text


def test_upgrading_the_plan_is_open_and_lifts_the_block_at_the_next_measure(
        small_starter: TestClient[Any], settings: Settings) -> None:
    org, key = blocked_starter(small_starter, settings)
    upgraded = as_key(small_starter, key, "PATCH", f"/v1/organizations/{org}",
                      json={"plan": "professional"})
    assert upgraded.status_code == 200, upgraded.text
    small_starter.get(f"/v1/organizations/{org}",
                      params={"min_position": upgraded.json()["position"]})
    measure(small_starter)
    assert as_key(small_starter, key, "GET", f"/v1/organizations/{org}").status_code == 200
