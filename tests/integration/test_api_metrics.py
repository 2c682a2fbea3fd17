"""GET /v1/metrics: random request-log rows inserted into ``api_requests``; the answers, read
from the materialized minute states, equal a direct computation over those raw rows (latency
quantiles within the sampling's interpolation), and tenants see only their own."""

from __future__ import annotations

import math
import random
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import msgspec
import pytest
from litestar.testing import TestClient

from api.app import create_app
from infra import clickhouse
from infra.settings import Settings
from projections.api_requests import COLUMNS
from tests.conftest import free_port
from tests.integration.conftest import AUTH, HTTPS
from tests.integration.test_api_keys import as_key, issue, new_org

ROUTES = ["/v1/organizations/{organization_id}", "/v1/api-keys", "/v1/resources/{resource_type}"]
STATUSES = [200, 200, 200, 201, 204, 400, 404, 422, 429, 500, 503]


class Traffic(NamedTuple):
    start: datetime  # a random day of 2031 at 10:00: no other row of the run is there
    orgs: list[uuid.UUID]
    rows: list[list[Any]]


def traffic_row(rng: random.Random, org: uuid.UUID, start: datetime, keys: list[str]) -> list[Any]:
    at = start + timedelta(seconds=rng.uniform(0, 3 * 3600))
    status = rng.choice(STATUSES)
    values = {
        "organization_id": org, "timestamp": at, "request_id": uuid.uuid4().hex, "trace_id": "",
        "method": rng.choice(["GET", "GET", "POST", "PATCH", "DELETE"]),
        "route": rng.choice(ROUTES), "status": status,
        "duration_ms": round(rng.lognormvariate(2.5, 1.0), 3), "actor_kind": "api_key",
        "api_key_id": rng.choice(keys), "user_id": "", "client_id": "", "ip": "10.0.0.1",
        "user_agent": "probe", "bytes_in": rng.randint(0, 5000), "bytes_out": rng.randint(0, 9000),
        "rate_limited": status == 429, "expires_at": at.replace(microsecond=0) + timedelta(days=90)}
    return [values[c] for c in COLUMNS]


@pytest.fixture(scope="module")
def traffic(client: TestClient[Any], settings: Settings) -> Traffic:
    rng = random.Random()
    start = datetime(2031, 1, 1, 10, tzinfo=UTC) + timedelta(days=rng.randrange(360))
    orgs = [uuid.UUID(new_org(client)["id"]), uuid.UUID(new_org(client)["id"])]
    keys = [str(uuid.uuid4()) for _ in range(3)]
    rows = [traffic_row(rng, org, start, keys) for org in orgs for _ in range(rng.randint(300, 700))]
    ch = clickhouse.client(settings)
    try:
        for i in range(0, len(rows), 250):  # several inserts: several parts, merged by the reads
            ch.insert("api_requests", rows[i:i + 250], column_names=COLUMNS)
    finally:
        ch.close()
    return Traffic(start, orgs, rows)


def field(row: list[Any], name: str) -> Any:
    return row[COLUMNS.index(name)]


def counted(rows: list[list[Any]], key: Any) -> dict[str, int]:
    return dict(Counter(key(r) for r in rows))


def assert_quantile(answer: float, durations: list[float], q: float) -> None:
    """ClickHouse interpolates between the two samples around q·(n-1); allow one rank more."""
    ranked = sorted(durations)
    at = q * (len(ranked) - 1)
    low, high = ranked[max(0, math.floor(at) - 1)], ranked[min(len(ranked) - 1, math.ceil(at) + 1)]
    assert low - 1e-6 <= answer <= high + 1e-6


def window(t: Traffic, hours: int = 3) -> dict[str, str]:
    return {"from": t.start.isoformat(), "to": (t.start + timedelta(hours=hours)).isoformat()}


def test_the_totals_and_breakdowns_equal_a_count_over_the_raw_rows(
        client: TestClient[Any], traffic: Traffic) -> None:
    org = traffic.orgs[0]
    mine = [r for r in traffic.rows if field(r, "organization_id") == org]
    answer = client.get("/v1/metrics", params={**window(traffic), "organization_id": str(org)})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    requests, errors = body["metrics"]["requests"], body["metrics"]["errors"]
    endpoint = lambda r: f"{field(r, 'method')} {field(r, 'route')}"  # noqa: E731
    failed = [r for r in mine if field(r, "status") >= 400]
    assert requests["total"] == len(mine)
    assert requests["successful"] == len(mine) - len(failed) == len(mine) - requests["failed"]
    assert requests["byMethod"] == counted(mine, lambda r: field(r, "method"))
    assert requests["byStatus"] == counted(mine, lambda r: str(field(r, "status")))
    assert requests["byEndpoint"] == counted(mine, endpoint)
    assert errors["byType"] == counted(failed, lambda r: f"{field(r, 'status') // 100}xx")
    assert errors["byEndpoint"] == counted(failed, endpoint)
    assert errors["rate"] == pytest.approx(len(failed) / len(mine))
    limited = [r for r in mine if field(r, "rate_limited")]
    assert body["metrics"]["rateLimit"] == {
        "total": len(limited), "byApiKey": counted(limited, lambda r: field(r, "api_key_id"))}


def test_the_latency_figures_equal_the_raw_rows_within_quantile_tolerance(
        client: TestClient[Any], traffic: Traffic) -> None:
    org = traffic.orgs[1]
    durations = [field(r, "duration_ms") for r in traffic.rows
                 if field(r, "organization_id") == org]
    body = client.get("/v1/metrics", params={**window(traffic), "organization_id": str(org)}).json()
    performance = body["metrics"]["performance"]
    assert performance["averageResponseTime"] == pytest.approx(sum(durations) / len(durations))
    for q, name in ((0.5, "p50ResponseTime"), (0.95, "p95ResponseTime"), (0.99, "p99ResponseTime")):
        assert_quantile(performance[name], durations, q)


GROUP_KEYS = {"method": lambda r: field(r, "method"),
              "status": lambda r: str(field(r, "status")),
              "endpoint": lambda r: f"{field(r, 'method')} {field(r, 'route')}",
              None: lambda r: None}


@pytest.mark.parametrize("bucket", ["1m", "1h"])
@pytest.mark.parametrize("group_by", ["endpoint", "method", "status", None])
def test_the_series_equals_each_buckets_raw_rows(
        client: TestClient[Any], traffic: Traffic, bucket: str, group_by: str | None) -> None:
    org = traffic.orgs[0]
    params = {**window(traffic), "organization_id": str(org), "bucket": bucket}
    body = client.get("/v1/metrics", params={**params, **(
        {"group_by": group_by} if group_by else {})}).json()
    mine = [r for r in traffic.rows if field(r, "organization_id") == org]
    expected: dict[tuple[str, str | None], list[list[Any]]] = {}
    for r in mine:
        start = field(r, "timestamp").replace(second=0, microsecond=0)
        start = start.replace(minute=0) if bucket == "1h" else start
        expected.setdefault((start.isoformat(), GROUP_KEYS[group_by](r)), []).append(r)
    series = {(datetime.fromisoformat(p["timestamp"].replace("Z", "+00:00")).isoformat(),
               p["key"]): p for p in body["series"]}
    assert set(series) == set(expected)
    for key, rows in expected.items():
        point = series[key]
        assert point["requests"] == len(rows)
        assert point["errors"] == sum(1 for r in rows if field(r, "status") >= 400)
        assert_quantile(point["performance"]["p95ResponseTime"],
                        [field(r, "duration_ms") for r in rows], 0.95)


def test_metrics_answer_503_while_clickhouse_is_away(settings: Settings) -> None:
    away = msgspec.structs.replace(settings, clickhouse_url=f"http://127.0.0.1:{free_port()}/x")
    with TestClient(app=create_app(away), base_url=HTTPS, raise_server_exceptions=False) as c:
        answer = c.get("/v1/metrics", headers=AUTH)
    assert answer.status_code == 503
    assert answer.json()["error"]["code"] == "service_unavailable"
    assert answer.headers["Retry-After"]


def test_minute_and_day_buckets_add_up_to_the_same_totals(
        client: TestClient[Any], traffic: Traffic) -> None:
    org = str(traffic.orgs[0])
    minutes = client.get("/v1/metrics", params={**window(traffic), "organization_id": org,
                                                "bucket": "1m"}).json()
    days = client.get("/v1/metrics", params={**window(traffic, hours=14), "organization_id": org,
                                             "bucket": "1d"}).json()
    total = minutes["metrics"]["requests"]["total"]
    assert sum(p["requests"] for p in minutes["series"]) == total
    assert [p["requests"] for p in days["series"]] == [total]
    assert days["from"] == traffic.start.replace(hour=0).isoformat().replace("+00:00", "Z")


def test_the_operator_sees_every_organization_and_a_tenant_only_its_own(
        client: TestClient[Any], traffic: Traffic) -> None:
    everyone = client.get("/v1/metrics", params=window(traffic)).json()
    assert everyone["organizationId"] is None
    assert everyone["metrics"]["requests"]["total"] == len(traffic.rows)
    key = issue(client, str(traffic.orgs[1]))
    own = as_key(client, key, "GET", "/v1/metrics", params=window(traffic))
    assert own.status_code == 200, own.text
    assert own.json()["organizationId"] == str(traffic.orgs[1])
    assert own.json()["metrics"]["requests"]["total"] == sum(
        1 for r in traffic.rows if field(r, "organization_id") == traffic.orgs[1])
    other = as_key(client, key, "GET", "/v1/metrics",
                   params={**window(traffic), "organization_id": str(traffic.orgs[0])})
    assert other.status_code == 404
    assert other.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("params", [
    {"bucket": "2m"},
    {"group_by": "ip"},
    {"from": "2031-01-02T00:00:00Z", "to": "2031-01-01T00:00:00Z"},
    {"from": "2031-01-01T00:00:00Z", "to": "2031-01-03T00:00:00Z", "bucket": "1m"},
    {"from": "yesterday"},
    {"to": "2031-01-01T00:00:00"},
    {"from": "0001-01-01T00:00:00Z", "to": "0001-01-02T00:00:00Z", "bucket": "1d"},
    {"from": "9999-12-30T00:00:00Z", "to": "9999-12-31T23:59:59Z", "bucket": "1d"},
])
def test_a_bad_window_or_choice_is_a_400_with_the_structured_body(
        client: TestClient[Any], params: dict[str, str]) -> None:
    answer = client.get("/v1/metrics", params=params)
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["code"] == "invalid_parameter"
    assert error["details"]

