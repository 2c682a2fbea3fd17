"""HTTP organization writes (throughput, latency) and command-to-read-model lag."""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx


async def writes(base: str, token: str, total: int, concurrency: int,
                 ) -> tuple[float, list[float], int]:
    """POST ``total`` creates from ``concurrency`` clients: (commands/s, latencies ms, errors)."""
    latencies: list[float] = []
    errors = 0
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(total):
        queue.put_nowait(i)
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30,
                                 headers={"Authorization": f"Bearer {token}"}) as client:

        async def worker() -> None:
            nonlocal errors
            while not queue.empty():
                queue.get_nowait()
                body = {"name": "Bench", "slug": f"bench-{uuid.uuid4().hex[:16]}"}
                started = time.perf_counter()
                try:
                    response = await client.post("/v1/organizations", json=body)
                except httpx.TransportError:
                    errors += 1
                    continue
                latencies.append((time.perf_counter() - started) * 1000)
                errors += response.status_code != 201

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return total / elapsed, latencies, errors


async def floor(base: str, total: int, concurrency: int) -> float:
    """Requests/s of GET /health/live: the HTTP stack's own ceiling with this client."""
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        per = total // concurrency

        async def worker() -> None:
            for _ in range(per):
                await client.get("/health/live")

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return per * concurrency / (time.perf_counter() - started)


async def lag(base: str, token: str, samples: int) -> list[float]:
    """Per write: ms from the command's response until a read with its position answers."""
    out: list[float] = []
    async with httpx.AsyncClient(base_url=base, timeout=60,
                                 headers={"Authorization": f"Bearer {token}"}) as client:
        for _ in range(samples):
            created = (await client.post("/v1/organizations", json={
                "name": "Lag", "slug": f"lag-{uuid.uuid4().hex[:16]}"})).json()
            started = time.perf_counter()
            response = await client.get(f"/v1/organizations/{created['id']}",
                                        params={"min_position": created["position"]})
            out.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.text
    return out
