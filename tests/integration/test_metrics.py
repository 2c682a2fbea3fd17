"""GET /metrics on the API: the OTel request-duration histogram by method, route template and
status, the process figures, behind the operator token; and the workers' /metrics."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
from litestar.testing import TestClient

from infra.health import serve
from infra.projector.health import ConsumerLag, ProjectorHealth
from infra.projector.runner import Runner
from infra.settings import Settings
from projections.registry import PROJECTIONS
from tests.conftest import ADMIN_TOKEN, Workers, free_port, wait_until

SERIES = ('http_server_request_duration_seconds_count{http_request_method="GET",'
          'http_route="/v1/projections",http_response_status_code="200"}')
NOT_FOUND = ('http_server_request_duration_seconds_count{http_request_method="GET",'
             'http_route="/v1/organizations/{organization_id}",http_response_status_code="404"}')


def sample(text: str, series: str) -> float:
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def scrape(client: TestClient[Any]) -> str:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return response.text


def test_the_histogram_counts_each_request_by_method_route_template_and_status(
        client: TestClient[Any]) -> None:
    before = scrape(client)
    for _ in range(3):
        assert client.get("/v1/projections").status_code == 200
    assert client.get(f"/v1/organizations/{uuid.uuid4()}").status_code == 404
    after = scrape(client)
    assert sample(after, SERIES) - sample(before, SERIES) == 3
    assert sample(after, NOT_FOUND) - sample(before, NOT_FOUND) == 1
    assert "# TYPE http_server_request_duration_seconds histogram" in after
    inf = SERIES.replace("_count{", "_bucket{").replace('"200"}', '"200",le="+Inf"}')
    assert sample(after, inf) == sample(after, SERIES)
    assert '/metrics"' not in after  # scrapes are not timed


def test_the_process_figures_are_exported_with_help_and_type(client: TestClient[Any]) -> None:
    text = scrape(client)
    for name, kind in [("chronicle_request_log_dropped_total", "counter"),
                       ("chronicle_db_pool_saturation", "gauge"),
                       ("chronicle_relay_lag", "gauge"),
                       ("chronicle_projection_lag", "gauge")]:
        assert f"# TYPE {name} {kind}" in text
        assert f"# HELP {name} " in text
    assert re.search(r'^chronicle_projection_lag\{projection="organizations"\} \d+$', text, re.M)


def test_metrics_need_the_operator_token_and_answer_the_structured_error(
        client: TestClient[Any]) -> None:
    bare = client.get("/metrics", headers={"Authorization": ""})
    assert bare.status_code == 401
    assert bare.json()["error"]["code"] == "unauthorized"
    wrong = client.get("/metrics", headers={"Authorization": "Bearer not-the-token"})
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "invalid_token"


def test_a_worker_serves_its_figures_as_prometheus_text() -> None:
    port = free_port()
    server = serve("127.0.0.1", port, "relay", lambda: {"status": "healthy"},
                   lambda: {"relay_lag": 4, "relay_published_total": 12,
                            'projection_lag{projection="users"}': 2})
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    finally:
        server.shutdown()
    assert "# TYPE chronicle_relay_lag gauge\nchronicle_relay_lag 4\n" in text
    assert "# TYPE chronicle_relay_published_total counter" in text
    assert 'chronicle_projection_lag{projection="users"} 2' in text


def test_the_projector_exports_each_projection_s_consumer_lag(
        client: TestClient[Any], settings: Settings, workers: Workers) -> None:
    created = client.post("/v1/organizations", json={
        "name": "Lagging", "slug": f"lag-{uuid.uuid4().hex[:10]}"}).json()
    client.get(f"/v1/organizations/{created['id']}", params={"min_position": created["position"]})
    wanted = {f'consumer_lag{{projection="{r.projection.name}"}}' for r in workers.runners}

    def measured() -> dict[str, float]:  # a fresh one: a health's figures are cached 5 s
        return ProjectorHealth(settings, workers.runners, workers.threads[1:]).metrics()

    # Every runner has its partitions once the session's consumers joined their groups.
    wait_until(lambda: wanted <= measured().keys(), timeout=60, message="every runner assigned")
    # A scrape whose offset request failed (a busy broker) has no figure: it is asked again.
    wait_until(lambda: measured().get('consumer_lag{projection="organizations"}') == 0,
               timeout=30, message="the organizations consumer at its partitions' ends")


def test_a_consumer_behind_its_partitions_shows_the_messages_it_has_not_read(
        client: TestClient[Any], settings: Settings) -> None:
    created = client.post("/v1/organizations", json={
        "name": "Behind", "slug": f"behind-{uuid.uuid4().hex[:10]}"}).json()
    client.get(f"/v1/organizations/{created['id']}", params={"min_position": created["position"]})
    idle = Runner(settings, PROJECTIONS["organizations"].build(settings))  # never started
    topic = settings.topic("organization")
    idle.stats.offsets.update({(topic, p): 0 for p in range(settings.kafka_partitions)})
    lag = ConsumerLag(settings.kafka_bootstrap_servers).of([idle])
    assert lag["organizations"] >= 1
    idle.stats.offsets.update({(topic, p): 10**9 for p in range(settings.kafka_partitions)})
    assert ConsumerLag(settings.kafka_bootstrap_servers).of([idle]) == {"organizations": 0}
