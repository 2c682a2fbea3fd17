"""The cost of the rate limiter and the idempotency layer: the same requests with both on
(rate limits enforced in Redis, an Idempotency-Key on every write) and with both off."""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx

from bench.common import pct


async def load(base: str, token: str, total: int, concurrency: int, *, write: bool,
               idempotent: bool) -> tuple[float, list[float], int]:
    """(requests/s, latencies ms, errors) for ``total`` GETs or creates."""
    latencies: list[float] = []
    errors = 0
    per = total // concurrency
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30,
                                 headers={"Authorization": f"Bearer {token}"}) as client:

        async def one() -> httpx.Response:
            if not write:
                return await client.get("/v1/organizations", params={"limit": 1})
            headers = {"Idempotency-Key": str(uuid.uuid4())} if idempotent else {}
            return await client.post("/v1/organizations", headers=headers, json={
                "name": "Bench", "slug": f"p-{uuid.uuid4().hex[:16]}"})

        async def worker() -> None:
            nonlocal errors
            for _ in range(per):
                started = time.perf_counter()
                try:
                    response = await one()
                except httpx.TransportError:
                    errors += 1
                    continue
                latencies.append((time.perf_counter() - started) * 1000)
                errors += response.status_code >= 400

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return per * concurrency / (time.perf_counter() - started), latencies, errors


def compare(on: str, off: str, token: str, total: int, concurrency: int) -> list[str]:
    """Alternate on/off runs (three rounds each) and report medians and the on/off ratio."""
    lines = []
    for label, write in (("GET /v1/organizations", False), ("POST /v1/organizations", True)):
        rates: dict[str, list[float]] = {"on": [], "off": []}
        p99: dict[str, list[float]] = {"on": [], "off": []}
        for _ in range(3):
            for mode, base in (("on", on), ("off", off)):
                rate, latencies, _errors = asyncio.run(load(
                    base, token, total, concurrency, write=write, idempotent=mode == "on"))
                rates[mode].append(rate)
                p99[mode].append(pct(latencies, 99))
        on_rate, off_rate = sorted(rates["on"])[1], sorted(rates["off"])[1]
        lines.append(
            f"  {label:<24} on {on_rate:7.0f} req/s p99 {sorted(p99['on'])[1]:7.1f} ms"
            f" | off {off_rate:7.0f} req/s p99 {sorted(p99['off'])[1]:7.1f} ms"
            f" | on/off {on_rate / off_rate:.2f}")
    return lines
