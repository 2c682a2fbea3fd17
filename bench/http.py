"""HTTP organization writes (throughput, latency) and command-to-read-model lag."""

from __future__ import annotations

import asyncio
import bisect
import threading
import time
import uuid
from typing import NamedTuple

import httpx
import msgspec
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


class RawPost:
    """A bare HTTP/1.1 client for the open-loop offer: keep-alive connections from a pool, the
    request bytes prepared once but for the slug, the answer's status line, Content-Length and
    body read and nothing else. httpx cost the bench's own process more than the API it
    measured: it answered 48-50 of 500 offered POST/s where wrk drove 250-460/s."""

    def __init__(self, base: str, token: str, connections: int) -> None:
        host_port = base.split("://", 1)[1]
        self.host, port = host_port.rsplit(":", 1)
        self.port = int(port)
        self.head = (f"POST /v1/organizations HTTP/1.1\r\nHost: {host_port}\r\n"
                     f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n")
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.slots = asyncio.Semaphore(connections)

    async def create(self, slug: str) -> tuple[int, bytes]:
        body = b'{"name":"Lag","slug":"%s"}' % slug.encode()
        async with self.slots:
            reader, writer = (self.idle.pop() if self.idle
                              else await asyncio.open_connection(self.host, self.port))
            writer.write(f"{self.head}Content-Length: {len(body)}\r\n\r\n".encode() + body)
            status = int((await reader.readline()).split()[1])
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.partition(b":")
                if name.lower() == b"content-length":
                    length = int(value)
            answer = await reader.readexactly(length)
            self.idle.append((reader, writer))
            return status, answer

    def close(self) -> None:
        for _reader, writer in self.idle:
            writer.close()


async def _offer(base: str, token: str, rate: float, seconds: float,
                 ) -> tuple[list[tuple[int, float]], int, float]:
    done: list[tuple[int, float]] = []
    failed = 0
    client = RawPost(base, token, connections=256)

    async def one() -> None:
        nonlocal failed
        status, answer = await client.create(f"lag-{uuid.uuid4().hex[:16]}")
        if status == 201:
            done.append((int(msgspec.json.decode(answer)["position"]), time.perf_counter()))
        else:
            failed += 1

    started = time.perf_counter()
    tasks = []
    for i in range(int(rate * seconds)):
        await asyncio.sleep(max(0.0, started + i / rate - time.perf_counter()))
        tasks.append(asyncio.create_task(one()))
    await asyncio.gather(*tasks, return_exceptions=True)
    failed += sum(1 for t in tasks if t.exception() is not None)
    elapsed = time.perf_counter() - started
    client.close()
    return done, failed, elapsed
