"""Every log line of real `chronicle api`, `relay` and `projector` processes (LOG_FORMAT=json)
parses as JSON, third-party loggers' included (granian, litestar, librdkafka), whatever the
requests sent them; a line logged inside a request names its request and trace; no secret."""

from __future__ import annotations

import contextlib
import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import msgspec

from infra.settings import Settings
from tests.conftest import ADMIN_TOKEN, free_port, ready, spawn, stop_all, wait_until

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
SECRET = "pk_test_" + "ab" * 16 + "_ThisIsTheSecretPartOfTheKey123"


@contextlib.contextmanager
def processes(settings: Settings, logs: Path) -> Iterator[str]:
    """relay, projector and api, each logging to its own file (at debug: every library's
    lines); the API's ClickHouse database does not exist, so ``GET /v1/metrics`` fails inside
    a request with a traceback."""
    port = free_port()
    common = {"LOG_FORMAT": "json", "LOG_LEVEL": "debug", "API_WORKERS": "1", "PORT": str(port),
              "RELAY_PORT": str(free_port()), "PROJECTOR_PORT": str(free_port())}
    missing = settings.clickhouse_url.rsplit("/", 1)[0] + "/no_such_database"
    procs = [spawn(settings, "relay", log=logs / "relay.log", **common),
             spawn(settings, "projector", log=logs / "projector.log", **common),
             spawn(settings, "api", log=logs / "api.log", **common, CLICKHOUSE_URL=missing)]
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: ready(url), timeout=60, message="the api process ready")
        yield url
    finally:
        stop_all(procs)


def send_hostile_requests(url: str) -> None:
    operator = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with httpx.Client(base_url=url, timeout=20) as http:
        assert http.get("/v1/projections", headers=operator).status_code == 200
        assert http.post("/v1/organizations", headers={**operator, "Content-Type": "application/json"},
                         content=b'{"name": "a \\"quoted\\"\n\xff\xfe').status_code == 400
        assert http.get("/v1/organizations",
                        headers={"Authorization": f"Bearer {SECRET}"}).status_code == 401
        assert http.get('/v1/no"such%FF%0A%E2%80%A8route').status_code in (401, 404)
        failed = http.get("/v1/metrics", headers={
            **operator, "X-Request-Id": "req-logged", "User-Agent": 'agent "x" \\ y',
            "traceparent": f"00-{TRACE}-00f067aa0ba902b7-01"})
        assert failed.status_code == 500, failed.text


def lines_of(path: Path) -> list[dict[str, Any]]:
    """Every line of ``path`` decoded as one JSON object (a line that is not fails here)."""
    lines = path.read_bytes().splitlines()
    assert lines, f"{path.name} is empty"
    for raw in lines:
        try:
            assert isinstance(msgspec.json.decode(raw), dict)
        except (msgspec.DecodeError, AssertionError):
            raise AssertionError(f"{path.name}: not a JSON object: {raw[:300]!r}") from None
    return [json.loads(raw) for raw in lines]


def test_every_line_of_the_processes_logs_parses_as_json_and_shows_no_secret(
        isolated: Settings, tmp_path: Path) -> None:
    with processes(isolated, tmp_path) as url:
        send_hostile_requests(url)
    found = {name: lines_of(tmp_path / f"{name}.log") for name in ("api", "relay", "projector")}
    api = found["api"]
    assert {"_granian"} <= {line["logger"] for line in api}
    failure = next(line for line in api if line["message"].startswith("unhandled error"))
    assert (failure["request_id"], failure["trace_id"], failure["organization_id"]) == (
        "req-logged", TRACE, "")
    assert failure["exception"].startswith("Traceback (most recent call last):")
    everything = "\n".join((tmp_path / f"{n}.log").read_text(errors="replace") for n in found)
    assert SECRET.rsplit("_", 1)[1] not in everything
    assert ADMIN_TOKEN not in everything


def test_librdkafka_s_own_lines_of_a_projector_without_a_broker_are_json_too(
        isolated: Settings, tmp_path: Path) -> None:
    log = tmp_path / "projector.log"
    proc = spawn(isolated, "projector", "--projection", "api_requests", log=log,
                 LOG_FORMAT="json", LOG_LEVEL="info", PROJECTOR_PORT=str(free_port()),
                 KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:{free_port()}")
    try:
        wait_until(lambda: b"chronicle.kafka" in log.read_bytes(), timeout=30,
                   message="librdkafka's first line")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    kafka = [line for line in lines_of(log) if line["logger"] == "chronicle.kafka"]
    assert any("Connect to" in line["message"] for line in kafka)
