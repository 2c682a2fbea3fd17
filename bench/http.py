"""HTTP organization writes (throughput, latency) and command-to-read-model lag."""

from __future__ import annotations

import asyncio
import bisect
import threading
import time
import uuid
from typing import NamedTuple

import httpx
import psycopg

from projections.status import caught_up


def lag(base: str, token: str, samples: int) -> list[float]:
    """Per write: ms from the command's response until a read with its position answers."""
    out: list[float] = []
    with httpx.Client(base_url=base, timeout=60, trust_env=False,
                      headers={"Authorization": f"Bearer {token}"}) as client:
        for _ in range(samples):
            created = client.post("/v1/organizations", json={
                "name": "Lag", "slug": f"lag-{uuid.uuid4().hex[:16]}"}).json()
            started = time.perf_counter()
            response = client.get(f"/v1/organizations/{created['id']}",
                                  params={"min_position": created["position"]})
            out.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.text
    return out


class Lag(NamedTuple):
    offered: float  # commands/s asked for
    achieved: float  # commands/s answered
    lags_ms: list[float]  # per command: response until the read model had applied it
    failed: int


def lag_at_rate(base: str, token: str, database_url: str, rate: float, seconds: float,
                projection: str = "organizations") -> Lag:
    """POST organizations at a fixed offered ``rate`` (open loop: a slow answer does not slow
    the next send) while a poller watches the projection's caught-up position."""
    samples: list[tuple[int, float]] = []  # (caught-up position, when first seen)
    stop = threading.Event()
    poller = threading.Thread(target=_poll, args=(database_url, projection, samples, stop))
    poller.start()
    try:
        done, failed, elapsed = asyncio.run(_offer(base, token, rate, seconds))
        deadline = time.monotonic() + 30
        while done and samples[-1][0] < max(p for p, _ in done) and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        stop.set()
        poller.join()
    positions = [p for p, _ in samples]
    lags = []
    for position, answered in done:
        i = bisect.bisect_left(positions, position)
        if i < len(samples):
            lags.append(max(0.0, samples[i][1] - answered) * 1000)
    return Lag(rate, len(done) / elapsed if elapsed else 0.0, lags, failed + len(done) - len(lags))


def _poll(database_url: str, projection: str, samples: list[tuple[int, float]],
          stop: threading.Event, every_s: float = 0.002) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        while not stop.is_set():
            position = caught_up(conn, projection)
            if not samples or position > samples[-1][0]:
                samples.append((position, time.perf_counter()))
            time.sleep(every_s)


async def _offer(base: str, token: str, rate: float, seconds: float,
                 ) -> tuple[list[tuple[int, float]], int, float]:
    done: list[tuple[int, float]] = []
    failed = 0
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
    async with httpx.AsyncClient(base_url=base, timeout=60, trust_env=False, limits=limits,
                                 headers={"Authorization": f"Bearer {token}"}) as client:

        async def one() -> None:
            nonlocal failed
            response = await client.post("/v1/organizations", json={
                "name": "Lag", "slug": f"lag-{uuid.uuid4().hex[:16]}"})
            if response.status_code == 201:
                done.append((int(response.json()["position"]), time.perf_counter()))
            else:
                failed += 1

        started = time.perf_counter()
        tasks = []
        for i in range(int(rate * seconds)):
            await asyncio.sleep(max(0.0, started + i / rate - time.perf_counter()))
            tasks.append(asyncio.create_task(one()))
        await asyncio.gather(*tasks, return_exceptions=True)
        failed += sum(1 for t in tasks if t.exception() is not None)
        return done, failed, time.perf_counter() - started
