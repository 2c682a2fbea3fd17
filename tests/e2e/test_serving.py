"""The API server as `chronicle api` runs it: several workers, no keep-alive stall, clean stop."""

from __future__ import annotations

import os
import signal
import statistics
import time
from pathlib import Path

import httpx

from infra.settings import Settings
from tests.conftest import free_port, spawn, wait_until


def test_two_workers_answer_keep_alive_requests_without_a_nagle_stall_and_stop_cleanly(
        settings: Settings, tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/health/live"
    api = spawn(settings, "api", log=tmp_path / "api.log", PORT=str(port), API_WORKERS="2")

    def up() -> bool:
        try:
            return httpx.get(url, timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_until(up, timeout=60, message="api with two workers")
        with httpx.Client(timeout=5) as client:  # one connection, kept alive
            timings = []
            for _ in range(40):
                started = time.perf_counter()
                assert client.get(url).status_code == 200
                timings.append((time.perf_counter() - started) * 1000)
        # Nagle + delayed ACK held every response after the first for ~40 ms; the bound is
        # loose so a loaded machine does not fail it, and still far below the stall.
        assert statistics.median(timings[1:]) < 20, timings
    finally:
        os.killpg(api.pid, signal.SIGTERM)
        code = api.wait(timeout=30)
    assert code == 0, (tmp_path / "api.log").read_text()[-2000:]
