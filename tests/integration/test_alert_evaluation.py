"""The alert evaluator on the real services: request rows in ClickHouse for an organization,
one tick, AlertFired in the store and `firing` over HTTP; healthy rows later, a tick, resolved;
another organization's rules see nothing of the first one's rows."""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from litestar.testing import TestClient

from commands.alert_rules import AlertRuleCommands
from domain.alert_rule.events import AlertFired, AlertResolved
from infra import clickhouse
from infra.alerts import Evaluator
from infra.eventstore import EventStore
from infra.settings import Settings
from projections.api_requests import COLUMNS
from tests.conftest import free_port, spawn, wait_until
from tests.integration.test_api_keys import new_org

START = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)  # no real request there


@pytest.fixture
def ch(settings: Settings) -> Iterator[Any]:
    client = clickhouse.client(settings)
    yield client
    client.close()


def requests(org: str, at: datetime, statuses: list[int], route: str = "/v1/users",
             duration_ms: float = 10.0) -> list[list[object]]:
    return [[uuid.UUID(org), at, f"req-{uuid.uuid4().hex}", "", "GET", route, s, duration_ms,
             "api_key", "", "", "", "127.0.0.1", "test", 0, 0, False,
             (at + timedelta(days=90)).replace(microsecond=0)] for s in statuses]


def rule(client: TestClient[Any], org: str, **body: Any) -> str:
    made = client.post("/v1/alert-rules", json={
        "organizationId": org, "name": "r", "windowSeconds": 60, "comparison": "gt", **body})
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def tick(settings: Settings, store: EventStore, at: datetime) -> int:
    evaluator = Evaluator(clickhouse.client(settings), AlertRuleCommands(store), clock=lambda: at)
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        return evaluator.tick(conn)


def events(store: EventStore, rule_id: str, kind: type) -> list[Any]:
    return [e.event for e in store.load(uuid.UUID(rule_id)) if isinstance(e.event, kind)]


def seen(client: TestClient[Any], rule_id: str, position: int) -> dict[str, Any]:
    found = client.get(f"/v1/alert-rules/{rule_id}", params={"min_position": position})
    assert found.status_code == 200, found.text
    return found.json()  # type: ignore[no-any-return]


def test_a_rule_fires_on_its_organizations_rows_and_resolves_after_healthy_ones(
        client: TestClient[Any], settings: Settings, store: EventStore, ch: Any) -> None:
    a, b = new_org(client)["id"], new_org(client)["id"]
    errors = rule(client, a, metric="error_rate", threshold=0.1)
    slow = rule(client, a, metric="p95_ms", threshold=500, route="/v1/slow")
    fast = rule(client, a, metric="p95_ms", threshold=500, route="/v1/users")
    lag = rule(client, a, metric="projection_lag", threshold=1e12)
    blind = rule(client, b, metric="request_rate", threshold=0)
    blind_errors = rule(client, b, metric="error_rate", threshold=0.1)
    ch.insert("api_requests", [
        *requests(a, START - timedelta(seconds=30), [200] * 5 + [500] * 5),
        *requests(a, START - timedelta(seconds=20), [200] * 4, "/v1/slow", 900.0)],
        column_names=COLUMNS)
    seen(client, blind_errors, store.head())  # every rule is in the read model

    tick(settings, store, START)
    position = store.head()
    fired = {r: events(store, r, AlertFired) for r in (errors, slow, fast, lag, blind,
                                                        blind_errors)}
    assert fired[errors] == [AlertFired(value=5 / 14, threshold=0.1, at=START)]
    assert fired[slow] == [AlertFired(value=900.0, threshold=500.0, at=START)]
    assert [fired[r] for r in (fast, lag, blind, blind_errors)] == [[], [], [], []]
    body = seen(client, errors, position)
    assert (body["state"], body["lastValue"], body["changedAt"]) == (
        "firing", pytest.approx(5 / 14), START.isoformat().replace("+00:00", "Z"))
    assert seen(client, fast, position)["state"] == "ok"
    assert seen(client, lag, position)["lastValue"] >= 0
    b_rate, b_errors = seen(client, blind, position), seen(client, blind_errors, position)
    assert (b_rate["state"], b_rate["lastValue"]) == ("ok", 0.0)
    assert (b_errors["state"], b_errors["lastValue"]) == ("ok", None)

    later = START + timedelta(seconds=200)
    ch.insert("api_requests", requests(a, later - timedelta(seconds=10), [200] * 20),
              column_names=COLUMNS)
    tick(settings, store, later)
    assert events(store, errors, AlertResolved) == [
        AlertResolved(value=0.0, threshold=0.1, at=later)]
    body = seen(client, errors, store.head())
    assert (body["state"], body["lastValue"]) == ("ok", 0.0)
    assert seen(client, slow, store.head())["state"] == "firing"  # no request: nothing measured


def test_a_second_tick_on_an_unchanged_window_fires_nothing_again(
        client: TestClient[Any], settings: Settings, store: EventStore, ch: Any) -> None:
    org = new_org(client)["id"]
    errors = rule(client, org, metric="error_rate", threshold=0.1, include4xx=True)
    at = START + timedelta(hours=1)
    ch.insert("api_requests", requests(org, at - timedelta(seconds=5), [404, 200]),
              column_names=COLUMNS)
    seen(client, errors, store.head())
    tick(settings, store, at)
    seen(client, errors, store.head())
    tick(settings, store, at)
    assert events(store, errors, AlertFired) == [AlertFired(value=0.5, threshold=0.1, at=at)]
    audit = client.get("/v1/audit", params={"organization_id": org, "resource": "alerts",
                                            "min_position": store.head()}).json()["data"]
    assert [e["action"] for e in audit] == ["create", "fire"]


def test_the_alerts_process_fires_on_its_own_schedule_and_stops_on_sigterm(
        client: TestClient[Any], settings: Settings, store: EventStore, ch: Any,
        tmp_path: Path) -> None:
    org = new_org(client)["id"]
    slow = rule(client, org, metric="p95_ms", threshold=100)
    ch.insert("api_requests", requests(org, datetime.now(UTC), [200] * 3, duration_ms=400.0),
              column_names=COLUMNS)
    seen(client, slow, store.head())
    port = free_port()
    process = spawn(settings, "alerts", log=tmp_path / "alerts.log",
                    ALERT_EVALUATE_SECONDS="0.5", ALERTS_PORT=str(port))
    try:
        wait_until(lambda: events(store, slow, AlertFired), timeout=30,
                   message="the process fired the rule")
        health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=5)
        assert (health.status_code, health.json()["status"]) == (200, "healthy")
        figures = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        assert "alerts_transitions_total" in figures
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        code = process.wait(timeout=20)
    assert code == 0, (tmp_path / "alerts.log").read_text()
