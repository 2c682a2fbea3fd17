"""Usage metering on the free plan's real quotas: a month's request-log rows in ClickHouse are
its API calls and bandwidth; at 80 % of a quota the organization is warned once (a usage
event), at 100 % its requests are refused with 429 until the month ends, its usage routes
still answer, and its statements list every metered month."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from litestar.testing import TestClient

from api.app import create_app
from domain.organization.plans import PLAN_QUOTAS
from domain.usage.decider import usage_stream_id
from domain.usage.events import LimitReached, ThresholdReached
from infra import clickhouse
from infra.eventstore import EventStore
from infra.metering import Meter
from infra.settings import Settings
from projections import usage_queries
from projections.api_requests import COLUMNS
from tests.conftest import Workers
from tests.integration.conftest import AUTH, HTTPS
from tests.integration.test_api_keys import as_key, issue, new_org

FREE_CALLS = PLAN_QUOTAS["free"].api_calls


@pytest.fixture(scope="module")
def metered(settings: Settings, workers: Workers) -> Iterator[TestClient[Any]]:
    """The API with metering on; the test measures when it wants (the hourly tick never runs)."""
    on = msgspec.structs.replace(settings, enable_usage_limits=True, usage_refresh_s=3600.0)
    with TestClient(app=create_app(on), base_url=HTTPS, raise_server_exceptions=False) as c:
        c.headers.update(AUTH)
        yield c


def measure(client: TestClient[Any]) -> Meter:
    meter: Meter = client.app.state.container.meter
    client.blocking_portal.call(meter.refresh)
    return meter


def log_requests(settings: Settings, org: str, count: int, at: datetime) -> None:
    values = {"organization_id": uuid.UUID(org), "timestamp": at, "trace_id": "",
              "method": "GET", "route": "/v1/users", "status": 200, "duration_ms": 3.0,
              "actor_kind": "api_key", "api_key_id": "", "user_id": "", "client_id": "",
              "ip": "10.0.0.1", "user_agent": "probe", "bytes_in": 10, "bytes_out": 90,
              "rate_limited": False, "expires_at": at.replace(microsecond=0) + timedelta(days=90)}
    rows = [[{**values, "request_id": uuid.uuid4().hex}[c] for c in COLUMNS] for _ in range(count)]
    ch = clickhouse.client(settings)
    try:
        ch.insert("api_requests", rows, column_names=COLUMNS)
    finally:
        ch.close()


def usage_events(store: EventStore, org: str) -> list[Any]:
    period = datetime.now(UTC).strftime("%Y-%m")
    return [e.event for e in store.load(usage_stream_id(uuid.UUID(org), period))]


def test_a_free_organization_is_warned_at_80_percent_once_and_refused_past_its_quota(
        metered: TestClient[Any], settings: Settings, store: EventStore) -> None:
    org = new_org(metered, plan="free")["id"]
    key = issue(metered, org)
    log_requests(settings, org, int(FREE_CALLS * 0.8), datetime.now(UTC))
    measure(metered)
    assert [type(e) for e in usage_events(store, org)] == [ThresholdReached]
    assert as_key(metered, key, "GET", f"/v1/organizations/{org}").status_code == 200

    log_requests(settings, org, FREE_CALLS - int(FREE_CALLS * 0.8), datetime.now(UTC))
    measure(metered)
    measure(metered)
    events = usage_events(store, org)
    assert [(type(e), e.metric, e.used) for e in events] == [
        (ThresholdReached, "apiCalls", int(FREE_CALLS * 0.8)),
        (LimitReached, "apiCalls", FREE_CALLS)]
    refused = as_key(metered, key, "GET", f"/v1/organizations/{org}")
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert (error["code"], error["reason"]) == ("rate_limited", "rate_limited")
    assert error["details"] == {"quota": "apiCalls", "used": FREE_CALLS, "limit": FREE_CALLS,
                                "period": events[0].period}
    assert 0 < int(refused.headers["Retry-After"]) <= 31 * 86400
    usage = as_key(metered, key, "GET", "/v1/usage")
    assert usage.status_code == 200, usage.text
    body = usage.json()
    assert body["metrics"] == {"apiCalls": FREE_CALLS, "bandwidth": FREE_CALLS * 100,
                               "storage": 0, "users": 0}
    assert body["limits"]["apiCalls"] == FREE_CALLS
    assert (body["percentUsed"]["apiCalls"], body["blocked"], body["policy"]) == (
        100.0, "apiCalls", "block")
    assert metered.get(f"/v1/organizations/{org}").status_code == 200  # the operator


def test_an_enterprise_organization_past_its_quota_is_warned_and_served_on(
        metered: TestClient[Any], settings: Settings, store: EventStore) -> None:
    org = new_org(metered, plan="enterprise")["id"]
    key = issue(metered, org)
    quota = PLAN_QUOTAS["enterprise"]
    metered.app.state.container.meter.quotas = {**PLAN_QUOTAS, "enterprise": (
        msgspec.structs.replace(quota, api_calls=50))}
    try:
        log_requests(settings, org, 60, datetime.now(UTC))
        measure(metered)
    finally:
        metered.app.state.container.meter.quotas = None
    assert [type(e) for e in usage_events(store, org)] == [ThresholdReached, LimitReached]
    assert usage_events(store, org)[1].policy == "overage"
    assert as_key(metered, key, "GET", f"/v1/organizations/{org}").status_code == 200


def test_statements_list_every_metered_month_newest_first(
        metered: TestClient[Any], settings: Settings) -> None:
    org = new_org(metered)["id"]
    now = datetime.now(UTC)
    earlier = (now.replace(day=1) - timedelta(days=1)).replace(day=15)
    log_requests(settings, org, 7, now)
    log_requests(settings, org, 3, earlier)
    measure(metered)
    body = metered.get("/v1/usage/statements", params={"organization_id": org}).json()
    assert [(s["period"], s["metrics"]["apiCalls"], s["metrics"]["bandwidth"])
            for s in body["data"]] == [
        (now.strftime("%Y-%m"), 7, 700), (earlier.strftime("%Y-%m"), 3, 300)]
    past = metered.get("/v1/usage", params={"organization_id": org,
                                            "period": earlier.strftime("%Y-%m")}).json()
    assert past["metrics"]["apiCalls"] == 3


def test_a_tenant_reads_only_its_own_usage_and_a_bad_month_is_a_400(
        metered: TestClient[Any]) -> None:
    mine, theirs = new_org(metered)["id"], new_org(metered)["id"]
    key = issue(metered, mine)
    assert as_key(metered, key, "GET", "/v1/usage").json()["organizationId"] == mine
    for path in ("/v1/usage", "/v1/usage/statements"):
        other = as_key(metered, key, "GET", path, params={"organization_id": theirs})
        assert other.status_code == 404
    for period in ("2026-13", "0000-01", "9999-12", "2026-1"):
        bad = metered.get("/v1/usage", params={"organization_id": mine, "period": period})
        assert bad.status_code == 400
        assert bad.json()["error"]["details"][0]["field"] == "period"
    assert metered.get("/v1/usage", params={"organization_id": str(uuid.uuid4())}
                       ).status_code == 404


def test_the_meter_reads_only_the_organizations_that_used_something(
        metered: TestClient[Any], settings: Settings,
        monkeypatch: pytest.MonkeyPatch) -> None:
    idle, busy = new_org(metered)["id"], new_org(metered)["id"]
    log_requests(settings, busy, 3, datetime.now(UTC))
    asked: list[set[uuid.UUID]] = []
    real = usage_queries.organizations

    async def recorded(conn: Any, ids: Any) -> Any:
        asked.append(set(ids))
        return await real(conn, ids)

    monkeypatch.setattr(usage_queries, "organizations", recorded)
    measure(metered)
    # The cost of a tick follows the active organizations, not every one on the platform.
    assert uuid.UUID(busy) in asked[0]
    assert uuid.UUID(idle) not in asked[0]
