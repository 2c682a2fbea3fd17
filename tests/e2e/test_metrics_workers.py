"""/metrics of `chronicle api` with several granian workers: whichever worker answers the
scrape, it counts every worker's requests (each leaves a snapshot in METRICS_DIR)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx

from api.platform.telemetry import SNAPSHOT_EVERY_S
from infra.settings import Settings
from tests.conftest import ADMIN_TOKEN, free_port, spawn, wait_until

LIVE = ('http_server_request_duration_seconds_count{http_request_method="GET",'
        'http_route="/health/live",http_response_status_code="200"}')


def counted(base: str) -> float:
    text = httpx.get(f"{base}/metrics", timeout=5,
                     headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}).text
    found = [line for line in text.splitlines() if line.startswith(LIVE + " ")]
    return float(found[0].rsplit(" ", 1)[1]) if found else 0.0


def test_a_scrape_adds_up_the_requests_of_every_worker(settings: Settings, tmp_path: Path) -> None:
    port, snapshots = free_port(), tmp_path / "metrics"
    base = f"http://127.0.0.1:{port}"
    api = spawn(settings, "api", log=tmp_path / "api.log", PORT=str(port), API_WORKERS="2",
                METRICS_DIR=str(snapshots))

    def up() -> bool:
        try:
            return httpx.get(f"{base}/health/live", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_until(up, timeout=60, message="api with two workers")
        for _ in range(59):  # a connection each, so both workers take some
            assert httpx.get(f"{base}/health/live", timeout=5).status_code == 200
        wait_until(lambda: len(list(snapshots.glob("*.snapshot"))) == 2, timeout=30,
                   message="a snapshot from each worker")
        # A sibling's figures are at most a snapshot interval old: past it, every scrape agrees.
        time.sleep(3 * SNAPSHOT_EVERY_S)
        assert {counted(base) for _ in range(8)} == {60}
    finally:
        os.killpg(api.pid, signal.SIGTERM)
        api.wait(timeout=30)
