"""Every process's Prometheus /metrics, scraped from the real processes: each has the OTel
request-duration histogram (seconds, by method, route template and status, OTel's buckets) and
its share of issue 13's list (projection, relay and consumer lag, pool saturation, webhook
queue depth, dropped request-log records), which together is the whole list."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path

import httpx

from infra.settings import Settings
from tests.conftest import ADMIN_TOKEN, free_port, running_stack, spawn, stop_all, wait_until

HISTOGRAM = "http_server_request_duration_seconds"
LISTED = {"chronicle_projection_lag", "chronicle_relay_lag", "chronicle_consumer_lag",
          "chronicle_db_pool_saturation", "chronicle_webhook_queue_depth",
          "chronicle_request_log_dropped_total"}
SERIES = {
    "api": {"chronicle_relay_lag", "chronicle_projection_lag", "chronicle_db_pool_saturation",
            "chronicle_request_log_dropped_total"},
    "relay": {"chronicle_relay_lag", "chronicle_db_pool_saturation"},
    "projector": {"chronicle_projection_lag", "chronicle_consumer_lag"},
    "webhooks": {"chronicle_webhook_queue_depth", "chronicle_consumer_lag",
                 "chronicle_db_pool_saturation"},
    "bulk": {"chronicle_db_pool_saturation"},
    "alerts": {"chronicle_db_pool_saturation"},
}
# The OpenTelemetry HTTP semantic conventions' advice for http.server.request.duration.
OTEL_BUCKETS = ["0.005", "0.01", "0.025", "0.05", "0.075", "0.1", "0.25", "0.5", "0.75", "1",
                "2.5", "5", "7.5", "10", "+Inf"]
SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$")


def names(text: str) -> set[str]:
    return {m.group(1) for line in text.splitlines() if (m := SAMPLE.match(line))}


def bounds(text: str, route: str) -> list[str]:
    """The ``le`` of one route's first series, in order."""
    found: list[str] = []
    for line in text.splitlines():
        if line.startswith(f"{HISTOGRAM}_bucket{{") and f'http_route="{route}"' in line:
            le = re.search(r'le="([^"]+)"', line)
            assert le is not None
            if found and le.group(1) == found[0]:
                break
            found.append(le.group(1))
    return found


@contextlib.contextmanager
def workers(settings: Settings, log: Path, ports: dict[str, int]) -> Iterator[None]:
    env = {"WEBHOOK_PORT": str(ports["webhooks"]), "BULK_PORT": str(ports["bulk"]),
           "ALERTS_PORT": str(ports["alerts"])}
    procs = [spawn(settings, name, log=log, **env) for name in ("webhooks", "bulk", "alerts")]
    try:
        yield
    finally:
        stop_all(procs)


def scrape(url: str, base: str, *, operator: bool) -> str:
    """The process's /metrics after one /health probe (the probe is what it times)."""
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"} if operator else {}
    httpx.get(f"{base}/health", timeout=10)
    answered = httpx.get(url, headers=headers, timeout=10)
    assert answered.status_code == 200, answered.text
    assert answered.headers["content-type"].startswith("text/plain; version=0.0.4")
    return answered.text


def test_every_process_exports_the_request_histogram_and_its_share_of_the_listed_series(
        isolated: Settings, tmp_path: Path) -> None:
    assert set().union(*SERIES.values()) == LISTED
    ports = {name: free_port() for name in ("relay", "projector", "webhooks", "bulk", "alerts")}
    log = tmp_path / "processes.log"
    with running_stack(isolated, log, RELAY_PORT=str(ports["relay"]),
                       PROJECTOR_PORT=str(ports["projector"])) as api, \
            workers(isolated, log, ports):
        assert httpx.get(f"{api}/v1/projections", timeout=20, headers={
            "Authorization": f"Bearer {ADMIN_TOKEN}"}).status_code == 200
        bases = {"api": api, **{n: f"http://127.0.0.1:{p}" for n, p in ports.items()}}
        texts: dict[str, str] = {}

        def complete() -> bool:
            for name, base in bases.items():
                try:
                    texts[name] = scrape(f"{base}/metrics", base, operator=name == "api")
                except httpx.TransportError:
                    return False
            return all(SERIES[n] <= names(texts[n]) for n in SERIES)

        with contextlib.suppress(AssertionError):
            wait_until(complete, timeout=60, interval=0.5)
        assert set(texts) == set(SERIES), "a process did not answer its /metrics"
        assert {n: sorted(SERIES[n] - names(t)) for n, t in texts.items()} == {
            n: [] for n in SERIES}
        for name, text in texts.items():
            assert f"# TYPE {HISTOGRAM} histogram" in text, name
            route = "/v1/projections" if name == "api" else "/health"
            assert bounds(text, route) == OTEL_BUCKETS, name
            assert f'{HISTOGRAM}_count{{http_request_method="GET",http_route="{route}",' \
                   'http_response_status_code=' in text, name
