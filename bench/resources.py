"""Resources at size (issue 11's benchmark): N resources of one organization, seeded through
bulk operations (`--bulk` of them; the rest, if any, by a direct INSERT into the read model, each
rate reported), then over HTTP against `chronicle api` (one worker): GET by id (req/s, p50,
p99), a filtered + sorted query and a full-text query (p50, p95), each with its ratio to the
seed's bar and to the 50 ms aim, a full NDJSON export (rows/s, peak RSS of the API's processes)
and a 10,000-item bulk operation (202 to completed).

    python -m bench.resources --n 1000000 [--bulk 1000000]
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
from bench.resource_seed import CITIES, WORDS, one_operation, through_bulk
from bench.run import free_port, stop, wait_ready
from infra.settings import Settings

SCHEMA = {"type": "object", "properties": {
    "n": {"type": "integer"}, "city": {"type": "string"}, "note": {"type": "string"}}}
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
BARS = {"simple": 100.0, "complex": 500.0, "bulk": 5.0}
BULK_AIM_S = 2.0
AIM_MS = 50.0


def seed(settings: Settings, org: str, first: int, last: int) -> float:
    """Rows per second of the direct INSERT of resources ``first``..``last``, in batches of
    100,000."""
    started = time.monotonic()
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        for start in range(first, last + 1, 100_000):
            conn.execute(SEED, {"org": org, "cities": CITIES, "words": WORDS, "start": start,
                                "stop": min(last, start + 99_999)})
        conn.execute("ANALYZE resources")
    return (last - first + 1) / (time.monotonic() - started)


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
        rows, rate_rows, before, peak = export(client, org, api_pids)
    rate = len(by_id) / (sum(by_id) / 1000)
    return [line("GET by id", by_id, BARS["simple"]) + f"  ({rate:,.0f} req/s, one client)",
            line("filtered + sorted (eq, gte, order)", filtered, BARS["complex"]),
            line("full text (q=<word>, ranked)", text, BARS["complex"]),
            f"  export: {rows} rows, {rate_rows:,.0f} rows/s; API RSS {before / 1024:.0f} MB"
            f" before, {peak / 1024:.0f} MB peak (+{(peak - before) / 1024:.0f} MB)"]


def bulk_line(seconds: float, items: int) -> str:
    return (f"  bulk operation of {items:,} creates, 202 to completed: {seconds:6.2f} s"
            f" | /bar({BARS['bulk']:g} s) {seconds / BARS['bulk']:5.2f}"
            f"  /aim({BULK_AIM_S:g} s) {seconds / BULK_AIM_S:5.2f}  ({items / seconds:,.0f} items/s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100_000, help="resources to seed")
    parser.add_argument("--bulk", type=int, default=None,
                        help="how many of them through bulk operations (default: all)")
    parser.add_argument("--samples", type=int, default=100, help="requests per figure")
    parser.add_argument("--bulk-items", type=int, default=10_000, help="the timed operation's")
    args = parser.parse_args()
    through = min(args.n, args.n if args.bulk is None else args.bulk)
    with private_environment() as settings:
        port = free_port()
        base, log = f"http://127.0.0.1:{port}", Path(tempfile.mkdtemp()) / "bench-res.log"
        procs = [spawn(settings, p, log, PORT=str(port), API_WORKERS="1",
                       ENABLE_RATE_LIMITING="false", RELAY_PORT=str(free_port()),
                       PROJECTOR_PORT=str(free_port()), BULK_PORT=str(free_port()))
                 for p in ("relay", "projector", "bulk", "api")]
        try:
            wait_ready(base, log)
            org = setup(base)
            print(f"== resources, N = {args.n:,} in one organization", flush=True)
            with httpx.Client(base_url=base, timeout=120, trust_env=False,
                              headers={"Authorization": f"Bearer {TOKEN}"}) as client:
                if through:
                    rate = through_bulk(client, settings, org, 1, through)
                    print(f"  seeded through bulk operations: {through:,} resources at"
                          f" {rate:,.0f} items/s (202s to every row in the read model)",
                          flush=True)
                if through < args.n:
                    rate = seed(settings, org, through + 1, args.n)
                    print(f"  seeded by direct INSERT into the read model: {args.n - through:,}"
                          f" rows at {rate:,.0f} rows/s", flush=True)
                with psycopg.connect(settings.database_url, autocommit=True) as conn:
                    conn.execute("ANALYZE resources")
                api_pids = proc.descendants(procs[3].pid)
                for text in measure(base, org, args.samples, api_pids):
                    print(text, flush=True)
                print(bulk_line(one_operation(client, settings, org, args.bulk_items),
                                args.bulk_items))
        finally:
            stop(procs)


if __name__ == "__main__":
    main()
