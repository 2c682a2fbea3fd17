"""The request log end to end: a request's record through Kafka into ClickHouse without any
secret, and a Kafka that is away costing dropped records, not slow requests."""

from __future__ import annotations

import statistics
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import msgspec
import pytest
from litestar.testing import TestClient

from api.app import create_app
from infra import clickhouse
from infra.projector.records import RecordRunner
from infra.settings import Settings
from projections.registry import RECORDS
from tests.conftest import ADMIN_TOKEN, free_port, wait_until
from tests.integration.conftest import AUTH, HTTPS
from tests.integration.test_api_keys import issue

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.fixture(scope="module")
def request_projector(settings: Settings) -> Iterator[RecordRunner]:
    runner = RecordRunner(settings, RECORDS["api_requests"](settings))
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    yield runner
    runner.stop()
    thread.join(timeout=30)


def logged(settings: Settings, request_id: str) -> dict[str, Any] | None:
    ch = clickhouse.client(settings)
    try:
        found = ch.query("SELECT * FROM api_requests WHERE request_id = {r:String}",
                         parameters={"r": request_id})
        return dict(zip(found.column_names, found.result_rows[0], strict=True)) \
            if found.result_rows else None
    finally:
        ch.close()


def test_a_request_reaches_clickhouse_with_its_fields_its_retention_and_no_secret(
        client: TestClient[Any], settings: Settings, request_projector: RecordRunner) -> None:
    created = client.post("/v1/organizations", json={
        "name": "Logged", "slug": f"logged-{uuid.uuid4().hex[:10]}", "plan": "enterprise",
        "settings": {"dataRetention": {"logs": 7}}}).json()
    client.get(f"/v1/organizations/{created['id']}", params={"min_position": created["position"]})
    key = issue(client, created["id"])
    request_id = f"req-{uuid.uuid4().hex}"
    answered = client.get(f"/v1/organizations/{created['id']}", headers={
        "Authorization": f"Bearer {key}", "X-Request-Id": request_id, "User-Agent": "probe/1.0",
        "traceparent": f"00-{TRACE}-00f067aa0ba902b7-01"})
    assert answered.status_code == 200
    wait_until(lambda: logged(settings, request_id), timeout=60, message="the logged request")
    row = logged(settings, request_id)
    assert row is not None
    assert (row["method"], row["route"], row["status"]) == (
        "GET", "/v1/organizations/{organization_id}", 200)
    assert str(row["organization_id"]) == created["id"]
    assert row["actor_kind"] == "api_key"
    key_hex = uuid.UUID(row["api_key_id"]).hex
    assert key_hex in key
    assert (row["user_id"], row["client_id"]) == ("", "")
    assert (row["trace_id"], row["user_agent"]) == (TRACE, "probe/1.0")
    assert row["bytes_out"] == len(answered.content)
    assert row["ip"]
    assert 0 < row["duration_ms"] < 60_000
    assert not row["rate_limited"]
    kept = row["expires_at"] - row["timestamp"].replace(tzinfo=row["expires_at"].tzinfo)
    assert timedelta(days=7) - timedelta(seconds=1) <= kept <= timedelta(days=7)
    text = repr(row)
    secret = key.split(key_hex, 1)[1].lstrip("_")
    assert key not in text
    assert secret not in text
    assert ADMIN_TOKEN not in text
    assert "Bearer" not in text


def test_a_request_without_an_organization_is_kept_the_default_ninety_days(
        client: TestClient[Any], settings: Settings, request_projector: RecordRunner) -> None:
    request_id = f"req-{uuid.uuid4().hex}"
    assert client.get("/v1/projections", headers={"X-Request-Id": request_id}).status_code == 200
    wait_until(lambda: logged(settings, request_id), timeout=60, message="the logged request")
    row = logged(settings, request_id)
    assert row is not None
    assert str(row["organization_id"]) == "00000000-0000-0000-0000-000000000000"
    assert row["actor_kind"] == "operator"
    assert row["trace_id"] == ""
    kept = row["expires_at"] - row["timestamp"].replace(tzinfo=row["expires_at"].tzinfo)
    assert timedelta(days=90) - timedelta(seconds=1) <= kept <= timedelta(days=90)


def test_a_burst_with_kafka_away_counts_dropped_records_and_requests_stay_fast(
        settings: Settings) -> None:
    away = msgspec.structs.replace(
        settings, kafka_bootstrap_servers=f"127.0.0.1:{free_port()}", request_log_buffer=10,
        request_log_flush_ms=50)
    with TestClient(app=create_app(away), base_url=HTTPS, raise_server_exceptions=False) as c:
        c.headers.update(AUTH)
        durations = []
        for _ in range(100):
            started = time.perf_counter()
            assert c.get("/v1/projections").status_code == 200
            durations.append(time.perf_counter() - started)
        sink = c.app.state.container.request_log
        # Kept at most: the buffer's 10 and librdkafka's 4 batches of at most 10 each.
        assert sink.dropped >= 100 - 10 - 4 * 10
        scraped = c.get("/metrics").text
    assert statistics.median(durations) < 0.05
    assert max(durations) < 1.0
    dropped = next(line for line in scraped.splitlines()
                   if line.startswith("chronicle_request_log_dropped_total"))
    assert float(dropped.split()[-1]) >= 50
