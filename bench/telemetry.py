"""The cost of request logging + metrics on the API-key GET of an organization, in process:
the same app with its telemetry layer in and out, each request a direct ASGI call (no HTTP
client or server in the figure), CPU time per request of the whole process (librdkafka's
threads included) and of the event loop's thread, rounds interleaved; then the layer alone
and its pieces; then the request-log projector's ClickHouse ingest rate.

    python -m bench.telemetry [--requests 2000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import timeit
import uuid
from pathlib import Path
from typing import Any

import psycopg
from litestar import Litestar
from litestar.testing import TestClient

from api.app import create_app
from api.platform.telemetry import Telemetry, entry
from bench.common import TOKEN, private_environment, spawn
from bench.run import free_port
from bench.serving import ROOMY
from infra.metrics import Histogram
from infra.requestlog import BATCH, ENCODER, ApiRequest, RequestLog
from infra.settings import Settings
from projections.registry import RECORDS

OPERATOR = {"Authorization": f"Bearer {TOKEN}"}


def tenant(client: TestClient[Litestar]) -> tuple[str, str]:
    """An organization and a read key, both with limits above the load; readable on return."""
    client.headers.update(OPERATOR)
    org = client.post("/v1/organizations", json={
        "name": "Bench", "slug": f"tel-{uuid.uuid4().hex[:10]}", "plan": "enterprise"}).json()
    lifted = client.patch(f"/v1/organizations/{org['id']}", json={"rateLimit": ROOMY}).json()
    key = client.post("/v1/api-keys", json={
        "name": "bench", "organizationId": org["id"], "rateLimit": ROOMY,
        "permissions": [{"resource": "organizations", "actions": ["read"]}]}).json()
    for path, position in ((f"/v1/organizations/{org['id']}", lifted["position"]),
                           (f"/v1/api-keys/{key['id']}", key["position"])):
        client.get(path, params={"min_position": position}).raise_for_status()
    return org["id"], key["key"]


def scope_for(path: str, key: str) -> dict[str, Any]:
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
            "scheme": "https", "path": path, "raw_path": path.encode(), "query_string": b"",
            "root_path": "", "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 443),
            "headers": [(b"host", b"bench.local"), (b"user-agent", b"bench/1"),
                        (b"accept", b"application/json"),
                        (b"authorization", f"Bearer {key}".encode())]}


async def per_request(app: Litestar, scope: dict[str, Any], n: int) -> tuple[float, float, float]:
    """Process CPU, the event loop thread's CPU and wall microseconds per request over ``n``
    direct ASGI calls."""
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    cpu, loop, wall = time.process_time(), time.thread_time(), time.perf_counter()
    for _ in range(n):
        await app({**scope, "headers": list(scope["headers"])}, receive, send)  # type: ignore[arg-type]
    cpu, loop = time.process_time() - cpu, time.thread_time() - loop
    wall = time.perf_counter() - wall
    assert set(statuses) == {200}, set(statuses)
    return cpu / n * 1e6, loop / n * 1e6, wall / n * 1e6


def compare(settings: Settings, requests: int, rounds: int) -> list[str]:
    """One app, one event loop, one set of pools and caches: rounds alternate between the app
    with its outermost layer (timing, request log, log context) and the app without it (its
    ``asgi_handler`` is the layer's inner app), so nothing but the layer differs, not even the
    machine's other load, which two apps or two runs would each meet differently."""
    app = create_app(settings)
    with TestClient(app, base_url="https://bench.local") as client:
        org_id, key = tenant(client)
        scope = scope_for(f"/v1/organizations/{org_id}", key)
        telemetry: Telemetry = app.state.telemetry
        handlers = {"on": telemetry, "off": telemetry.app}
        results: dict[str, list[tuple[float, float, float]]] = {"on": [], "off": []}
        client.blocking_portal.call(per_request, app, scope, 300)  # warm caches and pools
        for i in range(rounds):
            for name in (("on", "off") if i % 2 == 0 else ("off", "on")):
                app.asgi_handler = handlers[name]  # type: ignore[assignment]
                results[name].append(client.blocking_portal.call(per_request, app, scope,
                                                                 requests))
        app.asgi_handler = telemetry
        client.blocking_portal.call(asyncio.sleep, 1.0)  # the last records sent
        sink = app.state.container.request_log
    lines = [f"  GET /v1/organizations/{{id}} (API key), {rounds} rounds x {requests} requests"
             " (median of the rounds, and the least disturbed round):"]
    for i, what in enumerate(("process CPU", "loop thread CPU", "wall")):
        for how, pick in (("median", statistics.median), ("min", min)):
            on_, off_ = (pick(r[i] for r in results[k]) for k in ("on", "off"))
            lines.append(f"    {what + '/request ' + how + ':':<30} on {on_:7.1f} us | off"
                         f" {off_:7.1f} us | on - off {on_ - off_:6.1f} us | on/off"
                         f" {on_ / off_:.3f}")
    return [
        *lines,
        f"    request log: {sink.sent} sent, {sink.dropped} dropped",
        wrapper(settings, scope),
        *pieces(scope),
    ]


async def _bare(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


def wrapper(settings: Settings, scope: dict[str, Any], n: int = 5000, rounds: int = 9) -> str:
    """The outermost layer alone, around an app that only answers: what it adds per request
    (the request id is set already, as the app's own before_send hook would set it anyway)."""
    telemetry = Telemetry(_bare, settings)
    telemetry.sink = RequestLog(settings)
    routed = {**scope, "path_template": "/v1/organizations/{organization_id}",
              "state": {"organization_id": uuid.uuid4(), "request_id": "req_x"}}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(_message: Any) -> None:
        return

    async def timed(app: Any) -> float:
        started = time.perf_counter()
        for _ in range(n):
            await app({**routed, "state": dict(routed["state"])}, receive, send)
        telemetry.sink.buffer.clear()  # type: ignore[union-attr]
        return (time.perf_counter() - started) / n * 1e6

    async def run() -> tuple[float, float]:
        with_it, without = [], []
        for _ in range(rounds):
            with_it.append(await timed(telemetry))
            without.append(await timed(_bare))
        return min(with_it), min(without)  # the least disturbed round of each

    on, off = asyncio.run(run())
    return f"    the layer alone: {on:.1f} us with it, {off:.1f} us without: {on - off:.1f} us a request"


def pieces(scope: dict[str, Any], n: int = 20_000, rounds: int = 9) -> list[str]:
    """The request-path work alone, the least disturbed of ``rounds``: one histogram
    observation, one record built."""
    histogram = Histogram()
    route = "/v1/organizations/{organization_id}"
    full = {**scope, "path_template": route,
            "state": {"request_id": "req_x", "organization_id": uuid.uuid4()}}
    observe = min(timeit.repeat(lambda: histogram.observe("GET", route, 200, 0.0012),
                                number=n, repeat=rounds)) / n * 1e6
    record = min(timeit.repeat(lambda: entry(full, route, 200, 512, 0.0, 0.0012),  # type: ignore[arg-type]
                               number=n, repeat=rounds)) / n * 1e6
    return [f"    pieces: histogram observe {observe:.2f} us, request-log record {record:.2f} us"]


def ingest(settings: Settings, batches: int = 40) -> str:
    """The request-log projector's write path alone: Kafka messages of BATCH records each,
    decoded, their organizations' retention looked up, inserted into ClickHouse."""
    projection = RECORDS["api_requests"](settings)
    orgs = [uuid.uuid4() for _ in range(20)]
    values = [ENCODER.encode([ApiRequest(
        time.time(), "GET", "/v1/organizations/{organization_id}", 200, 1.2, orgs[i % 20],
        "api_key", str(uuid.uuid4()), "10.0.0.1", "bench/1", 0, 800, f"req_{b}_{i}", "", False)
        for i in range(BATCH)]) for b in range(batches)]
    with psycopg.connect(settings.database_url, autocommit=True) as conn, conn.cursor() as cur:
        started = time.perf_counter()
        for start in range(0, batches, 4):  # the runner's batches: several messages each
            projection.write(cur, values[start:start + 4])
        elapsed = time.perf_counter() - started
    return (f"    request-log projector write path: {batches * BATCH / elapsed:,.0f} rows/s"
            f" ({batches * BATCH} rows, {4 * BATCH} a ClickHouse insert)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with private_environment() as settings, tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "workers.log"
        ports = {"RELAY_PORT": str(free_port()), "PROJECTOR_PORT": str(free_port())}
        workers = [spawn(settings, p, log, **ports) for p in ("relay", "projector")]
        try:
            print("== request logging + metrics, on vs off (in process)")
            for line in compare(settings, args.requests, args.rounds):
                print(line)
            print(ingest(settings))
        finally:
            for w in workers:
                w.terminate()
                w.wait(timeout=30)


if __name__ == "__main__":
    main()
