"""Resource queries at size (issue 11's benchmark, the query and export part): N resources of
one organization, seeded by a direct INSERT into the resources read model (not through bulk
operations, which another part of the issue builds), then over HTTP against `chronicle api`
(one worker): GET by id, a filtered + sorted query and a full-text query (p50, p95, each with
its ratio to the seed's bar and to the 50 ms aim), and a full NDJSON export (rows/s, peak RSS
of the API's processes).

    python -m bench.resources --n 1000000
"""

from __future__ import annotations

import argparse
import random
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg

from bench import proc
from bench.common import TOKEN, pct, private_environment, spawn
from bench.run import free_port, stop, wait_ready
from infra.settings import Settings

SCHEMA = {"type": "object", "properties": {
    "n": {"type": "integer"}, "city": {"type": "string"}, "note": {"type": "string"}}}
CITIES = ["kyoto", "osaka", "nagoya", "sapporo", "fukuoka", "sendai", "kobe", "nara",
          "yokohama", "chiba", "kawasaki", "saitama", "hiroshima", "kumamoto", "okayama",
          "niigata", "shizuoka", "hamamatsu", "sakai", "kagoshima"]
WORDS = ["honey", "hive", "pollen", "queen", "drone", "worker", "nectar", "comb", "swarm",
         "apiary", "wax", "royal", "jelly", "bloom", "meadow", "clover"]
SEED = """
INSERT INTO resources (id, organization_id, type, type_version, status, data, tags, labels,
    annotations, relationships, checksum, size, created_by, updated_by, version,
    created_position, created_at, updated_at)
SELECT gen_random_uuid(), %(org)s::uuid, 'items', 1, 'active',
    jsonb_build_object('n', g %% 1000, 'city', (%(cities)s::text[])[1 + g %% 20],
        'note', (%(words)s::text[])[1 + g %% 16] || ' ' || (%(words)s::text[])[1 + (g / 16) %% 16]
                || ' item ' || g),
    ARRAY['t' || (g %% 10)], jsonb_build_object('shard', (g %% 8)::text), '{}', '[]', '', 0,
    'system:bench', 'system:bench', 1, 1000000000 + g, now(), now()
FROM generate_series(%(start)s::bigint, %(stop)s::bigint) g
"""
BARS = {"simple": 100.0, "complex": 500.0}
AIM_MS = 50.0


def seed(settings: Settings, org: str, n: int) -> float:
    """Rows per second of the direct INSERT, in batches of 100,000."""
    started = time.monotonic()
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        for start in range(1, n + 1, 100_000):
            conn.execute(SEED, {"org": org, "cities": CITIES, "words": WORDS, "start": start,
                                "stop": min(n, start + 99_999)})
        conn.execute("ANALYZE resources")
    return n / (time.monotonic() - started)


def timed(client: httpx.Client, path: str, params_of: Any, samples: int) -> list[float]:
    spent = []
    for i in range(samples):
        began = time.perf_counter()
        answer = client.get(path, params=params_of(i))
        answer.raise_for_status()
        spent.append((time.perf_counter() - began) * 1000)
    return spent


def line(name: str, values: list[float], bar: float) -> str:
    p50, p95, p99 = pct(values, 50), pct(values, 95), pct(values, 99)
    return (f"  {name:<34} p50 {p50:8.1f} ms  p95 {p95:8.1f} ms  p99 {p99:8.1f} ms"
            f" | p95/bar({bar:.0f} ms) {p95 / bar:5.2f}  p95/aim({AIM_MS:.0f} ms)"
            f" {p95 / AIM_MS:6.2f}")


def rss_kb(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            for text in Path(f"/proc/{pid}/status").read_text().splitlines():
                if text.startswith("VmRSS:"):
                    total += int(text.split()[1])
        except OSError:
            continue
    return total


def export(client: httpx.Client, org: str, api_pids: list[int]) -> tuple[int, float, int, int]:
    """(rows, rows/s, RSS before in kB, peak RSS during in kB)."""
    before, peak, done = rss_kb(api_pids), [0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], rss_kb(api_pids))
            time.sleep(0.05)

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    rows, began = 0, time.monotonic()
    with client.stream("GET", "/v1/resources/items/export",
                       params={"organization_id": org}, timeout=3600) as answer:
        answer.raise_for_status()
        for text in answer.iter_lines():
            rows += bool(text)
    spent = time.monotonic() - began
    done.set()
    watcher.join()
    return rows, rows / spent, before, peak[0]


def setup(base: str) -> str:
    with httpx.Client(base_url=base, timeout=60, headers={"Authorization": f"Bearer {TOKEN}"},
                      trust_env=False) as client:
        org = client.post("/v1/organizations", json={
            "name": "Bench", "slug": f"res-{random.randrange(10**9)}", "plan": "enterprise"})
        org.raise_for_status()
        org_id = org.json()["id"]
        made = client.post("/v1/resource-types", json={
            "name": "items", "schema": SCHEMA, "organizationId": org_id, "indexed": ["n"]})
        made.raise_for_status()
        client.get("/v1/resource-types/items", params={
            "organization_id": org_id, "min_position": made.json()["position"]}).raise_for_status()
    return str(org_id)


def measure(base: str, org: str, samples: int, api_pids: list[int]) -> list[str]:
    q = {"organization_id": org}
    with httpx.Client(base_url=base, timeout=120, trust_env=False,
                      headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        ids = [r["id"] for r in client.get("/v1/resources/items", params={
            **q, "limit": "200", "select": "id"}).json()["data"]]
        by_id = [timed(client, f"/v1/resources/items/{ids[i % len(ids)]}", lambda _: q, 1)[0]
                 for i in range(samples)]
        filtered = timed(client, "/v1/resources/items", lambda i: {
            **q, "data.city": f"eq.{CITIES[i % 20]}", "data.n": f"gte.{500 + i % 400}",
            "order": "data.n.desc", "limit": "50"}, samples)
        text = timed(client, "/v1/resources/items", lambda i: {
            **q, "q": WORDS[i % 16], "limit": "50"}, samples)
        rows, rate, before, peak = export(client, org, api_pids)
    return [line("GET by id", by_id, BARS["simple"]),
            line("filtered + sorted (eq, gte, order)", filtered, BARS["complex"]),
            line("full text (q=<word>, ranked)", text, BARS["complex"]),
            f"  export: {rows} rows, {rate:,.0f} rows/s; API RSS {before / 1024:.0f} MB before,"
            f" {peak / 1024:.0f} MB peak (+{(peak - before) / 1024:.0f} MB)"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100_000, help="resources to seed")
    parser.add_argument("--samples", type=int, default=100, help="requests per figure")
    args = parser.parse_args()
    with private_environment() as settings:
        port = free_port()
        base, log = f"http://127.0.0.1:{port}", Path(tempfile.mkdtemp()) / "bench-res.log"
        procs = [spawn(settings, p, log, PORT=str(port), API_WORKERS="1",
                       ENABLE_RATE_LIMITING="false", RELAY_PORT=str(free_port()),
                       PROJECTOR_PORT=str(free_port())) for p in ("relay", "projector", "api")]
        try:
            wait_ready(base, log)
            org = setup(base)
            rate = seed(settings, org, args.n)
            print(f"== resources, N = {args.n:,} in one organization (seeded by direct INSERT"
                  f" into the read model: {rate:,.0f} rows/s; not through bulk operations)")
            api_pids = proc.descendants(procs[2].pid)
            for text in measure(base, org, args.samples, api_pids):
                print(text)
        finally:
            stop(procs)


if __name__ == "__main__":
    main()
