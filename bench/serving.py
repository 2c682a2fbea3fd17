"""HTTP serving figures against the framework ceiling: a hello route on the same server and
worker count, then /health/live, the API-key GET of an organization and POST /v1/organizations,
at 32 and at 1 connection, with the rate limiter on and limits above the offered load."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from typing import Any, NamedTuple

import httpx
import psycopg

from bench import proc, wrk
from bench.common import TOKEN

# Above anything wrk can offer on one machine, so no figure below measures a 429.
# (Every limit is at most 10^9: domain/organization/plans.py MAX_RATE.)
ROOMY = {"requestsPerSecond": 1_000_000, "burstLimit": 1_000_000,
         "requestsPerMinute": 100_000_000, "requestsPerHour": 1_000_000_000,
         "requestsPerDay": 1_000_000_000}
ROOMY_ENV = {"RATE_LIMIT_PER_SECOND": "1000000", "RATE_LIMIT_BURST": "1000000",
             "RATE_LIMIT_PER_MINUTE": "100000000", "RATE_LIMIT_PER_HOUR": "1000000000",
             "RATE_LIMIT_PER_DAY": "1000000000"}


class Tenant(NamedTuple):
    organization_id: str
    key: str


class Row(NamedTuple):
    name: str
    connections: int
    load: wrk.Load
    cpu_us: dict[str, float]  # CPU per request of each process group during the run
    transactions: float  # PostgreSQL transactions per request in Chronicle's database


def hello_server(port: int, workers: int, log: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "bench.hello", str(port), str(workers)],
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def wait_up(url: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not answer in {timeout_s:.0f} s")


def tenant(base: str) -> Tenant:
    """An enterprise organization with the operator's rateLimit override, and an API key with
    its own rateLimit, both above the offered load; readable once this returns."""
    with httpx.Client(base_url=base, timeout=60, trust_env=False,
                      headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        org = client.post("/v1/organizations", json={
            "name": "Bench", "slug": f"serve-{uuid.uuid4().hex[:10]}", "plan": "enterprise"})
        org.raise_for_status()
        org_id = org.json()["id"]
        lifted = client.patch(f"/v1/organizations/{org_id}", json={"rateLimit": ROOMY})
        lifted.raise_for_status()
        key = client.post("/v1/api-keys", json={
            "name": "bench", "organizationId": org_id, "rateLimit": ROOMY,
            "permissions": [{"resource": "organizations", "actions": ["read"]}]})
        key.raise_for_status()
        for path, position in ((f"/v1/organizations/{org_id}", lifted.json()["position"]),
                               (f"/v1/api-keys/{key.json()['id']}", key.json()["position"])):
            client.get(path, params={"min_position": position}).raise_for_status()
    found = Tenant(org_id, key.json()["key"])
    _await_override(base, found)
    return found


def _await_override(base: str, found: Tenant) -> None:
    """The API processes evict their policy caches on the projector's word: wait for it."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        response = httpx.get(f"{base}/v1/organizations/{found.organization_id}", timeout=5,
                             headers={"Authorization": f"Bearer {found.key}"})
        if response.headers.get("ratelimit-limit") == str(ROOMY["burstLimit"]):
            return
        time.sleep(0.2)
    raise SystemExit("the organization's rateLimit override did not reach the API")


def transactions(database_url: str) -> int:
    """Transactions ended in Chronicle's database so far. PostgreSQL flushes a backend's
    counts at most once a second, so a reading waits that long first."""
    time.sleep(1.1)
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute("SELECT xact_commit + xact_rollback FROM pg_stat_database"
                           " WHERE datname = current_database()").fetchone()
    return int(row[0]) if row else 0


def measure(hello: str, base: str, found: Tenant, seconds: int,
            connections: tuple[int, ...], groups: dict[str, list[int]],
            database_url: str) -> list[Row]:
    cases = [("hello (framework ceiling)", hello, "", "path:/hello"),
             ("GET /health/live", base, "", "path:/health/live"),
             ("GET /v1/organizations/{id} (API key)", base, found.key,
              f"path:/v1/organizations/{found.organization_id}"),
             ("POST /v1/organizations (operator)", base, TOKEN, "create")]
    rows = []
    for conns in connections:
        for name, url, token, mode in cases:
            ended = transactions(database_url)
            before = proc.ticks_of(groups)
            load = wrk.run(url, token, mode, seconds, conns)
            cpu = proc.us_per_request(before, proc.ticks_of(groups), load.requests)
            per = (transactions(database_url) - ended) / max(load.requests, 1)
            rows.append(Row(name, conns, load, cpu, per))
    return rows


def report(rows: list[Row]) -> list[str]:
    """Each row beside the ceiling measured at the same connection count, with the ratio."""
    ceiling = {r.connections: r.load for r in rows if r.name.startswith("hello")}
    lines = [f"  {'':<40} {'conns':>5} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}"
             "  vs ceiling"]
    for r in rows:
        base = ceiling[r.connections]
        lines.append(f"  {r.name:<40} {r.connections:>5} {r.load.rate:>8.0f} {r.load.p50_ms:>8.2f}"
                     f" {r.load.p99_ms:>8.2f} {r.load.non_2xx:>8}"
                     f"  {r.load.rate / base.rate:6.3f} of {base.rate:.0f} req/s")
    return lines


def cpu_report(rows: list[Row], connections: int) -> list[str]:
    """Where each route's time goes: CPU microseconds per request of every process, from
    /proc, over the same wrk runs (the hello server's own CPU is not counted)."""
    chosen = [r for r in rows if r.connections == connections and not r.name.startswith("hello")]
    names = list(chosen[0].cpu_us) if chosen else []
    short = [n.split(" (")[0] for n in names]
    lines = [f"  {'':<40} " + " ".join(f"{s:>10}" for s in short) + f" {'total':>10}"
             f" {'pg tx/req':>10}"]
    for r in chosen:
        lines.append(f"  {r.name:<40} " + " ".join(f"{r.cpu_us[n]:>10.0f}" for n in names)
                     + f" {sum(r.cpu_us.values()):>10.0f} {r.transactions:>10.1f}")
    return lines
