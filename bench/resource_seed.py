"""Seeding issue 11's benchmark through bulk operations, and timing one 10,000-item operation:
operations submitted over HTTP to `chronicle api`, applied by `chronicle bulk`, and read back
from the read models the relay and the projector feed (bench/resources.py drives them)."""

from __future__ import annotations

import time
from collections import deque
from typing import Any

import httpx
import psycopg

from infra.settings import Settings

CITIES = ["kyoto", "osaka", "nagoya", "sapporo", "fukuoka", "sendai", "kobe", "nara",
          "yokohama", "chiba", "kawasaki", "saitama", "hiroshima", "kumamoto", "okayama",
          "niigata", "shizuoka", "hamamatsu", "sakai", "kagoshima"]
WORDS = ["honey", "hive", "pollen", "queen", "drone", "worker", "nectar", "comb", "swarm",
         "apiary", "wax", "royal", "jelly", "bloom", "meadow", "clover"]
PER_OPERATION = 5_000  # items per seeding operation: ~100 bytes each, under MAX_BODY_BYTES
IN_FLIGHT = 3  # operations submitted and not yet completed
STATUS = "SELECT status, success_count FROM bulk_operations WHERE id = %s"
ROWS = "SELECT count(*) FROM resources WHERE organization_id = %s"
TIMEOUT_S = 3600.0


def item(g: int) -> dict[str, Any]:
    """Resource number ``g``, as bench/resources.py's direct INSERT writes it: each word of
    ``note`` is in 1/16 of the resources, each city in 1/20."""
    note = f"{WORDS[g % 16]} {WORDS[(g // 16) % 16]} item {g}"
    return {"op": "create", "type": "items",
            "data": {"n": g % 1000, "city": CITIES[g % 20], "note": note}}


def submit(client: httpx.Client, org: str, items: list[dict[str, Any]]) -> str:
    answer = client.post("/v1/bulk-operations", params={"organization_id": org},
                         json={"items": items})
    if answer.status_code != 202:
        raise SystemExit(f"bulk submission refused: {answer.status_code} {answer.text[:300]}")
    return str(answer.json()["id"])


def wait_completed(conn: psycopg.Connection[Any], operation_id: str, items: int,
                   deadline: float) -> None:
    while True:
        row = conn.execute(STATUS, (operation_id,)).fetchone()
        if row is not None and row[0] in ("completed", "failed"):
            if row != ("completed", items):
                raise SystemExit(f"bulk operation {operation_id} ended as {row}")
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"bulk operation {operation_id} not completed in time: {row}")
        time.sleep(0.02)


def through_bulk(client: httpx.Client, settings: Settings, org: str, first: int,
                 last: int) -> float:
    """Resources ``first``..``last`` created by bulk operations of PER_OPERATION items, at most
    IN_FLIGHT at a time; items/s until every one is in the resources read model."""
    began, deadline = time.monotonic(), time.monotonic() + TIMEOUT_S
    waiting: deque[tuple[str, int]] = deque()
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        for start in range(first, last + 1, PER_OPERATION):
            stop = min(last, start + PER_OPERATION - 1)
            if len(waiting) >= IN_FLIGHT:
                wait_completed(conn, *waiting.popleft(), deadline)
            waiting.append((submit(client, org, [item(g) for g in range(start, stop + 1)]),
                            stop - start + 1))
        while waiting:
            wait_completed(conn, *waiting.popleft(), deadline)
        expected = last - first + 1
        while (conn.execute(ROWS, (org,)).fetchone() or (0,))[0] < expected:
            if time.monotonic() > deadline:
                raise SystemExit("the resources read model did not catch up")
            time.sleep(0.1)
    return (last - first + 1) / (time.monotonic() - began)


def one_operation(client: httpx.Client, settings: Settings, org: str, items: int) -> float:
    """Seconds from the 202 of an ``items``-create operation to `completed` in the read
    model that `GET /v1/bulk-operations/{id}` serves."""
    body = [{"op": "create", "type": "items", "data": {"n": i % 1000, "city": "kyoto"}}
            for i in range(items)]
    operation_id = submit(client, org, body)
    began = time.monotonic()
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        wait_completed(conn, operation_id, items, began + 600)
    return time.monotonic() - began
