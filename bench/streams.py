"""SSE fan-out on one API process: events/s delivered to 1,000 and 5,000 subscribers, resident
memory per idle connection, and event-to-client latency.

    python -m bench.streams [--sizes 1000 5000] [--seconds 5] [--rates 10 50] [--burst 2000]
                            [--sockets 1000]

A private database and Redis prefix; `chronicle relay` and `chronicle api` (one worker, a fresh
process for each size) as real processes; events appended straight to the store by this
process (so the API process only streams), every subscriber a raw asyncio socket (httpx would
be the bottleneck long before).
The memory figure is the API process tree's RSS (granian's main process and its worker, from
/proc) with the subscribers open, idle and subscribed, less the RSS with 20 warm-up streams
open, over the subscribers: everything a stream holds (granian's connection and task, the
Python objects of the stream, the Redis connections the claims' burst opened), no collection
forced (the worker cannot be asked; pymalloc rarely gives freed arenas back anyway).
Latency is from just before the append's commit to the arrival of the event's frame, sampled
on a hundred subscribers, at a steady rate of single-event appends; the throughput is how fast
a burst of appends (50 events each, as fast as this process makes them) reaches everyone.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import subprocess
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import uvloop

from bench.appends import ACTOR
from bench.common import TOKEN, pct, private_environment, spawn
from bench.proc import descendants
from bench.run import free_port
from domain.envelope import Envelope
from domain.organization.events import OrganizationCreated, OrganizationRenamed, OrganizationSettings
from infra.eventstore import EventStore, datastore_from_url
from infra.settings import Settings

RSS_AIM_KIB, P99_AIM_MS = 20.0, 200.0
SAMPLED = 100  # subscribers that parse ids for the latency figure
IDS = re.compile(rb"\nid: (\d+)\n")
WS_UPGRADE = ("Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
              "Sec-WebSocket-Key: Y2hyb25pY2xlLWJlbmNoIQ==\r\n")
APPENDED: dict[int, float] = {}  # position -> perf_counter just before its append


class Subscriber(asyncio.Protocol):
    """Counts event frames (``\\nid: `` starts each); a sampled one times each id's arrival."""

    def __init__(self, sampled: bool, latencies: list[float]) -> None:
        self.sampled, self.latencies = sampled, latencies
        self.subscribed = asyncio.get_running_loop().create_future()
        self.events, self.tail, self.closed = 0, b"", False

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        buf = self.tail + data
        # SSE's ": subscribed at N" comment, or the WebSocket's {"type":"subscribed",...}
        if not self.subscribed.done() and b"subscribed" in buf:
            self.subscribed.set_result(None)
        self.events += buf.count(b"\nid: ") - self.tail.count(b"\nid: ")
        if b"event: close" in buf:  # dropped by the server (the connection stays open)
            self.closed = True
        if self.sampled:
            cut = buf.rfind(b"\n\n")
            for found in IDS.finditer(buf, 0, cut + 1):
                sent = APPENDED.get(int(found.group(1)))
                if sent is not None:
                    self.latencies.append((now - sent) * 1000)
            self.tail = buf[cut + 1:] if cut >= 0 else buf[-4096:]
        else:
            self.tail = buf[-5:]

    def connection_lost(self, _exc: Exception | None) -> None:
        self.closed = True


async def subscribe(port: int, org: uuid.UUID, count: int, latencies: list[float],
                    path: str = "/v1/events/stream",
                    ) -> list[tuple[asyncio.Transport, Subscriber]]:
    loop = asyncio.get_running_loop()
    upgrade = WS_UPGRADE if path == "/v1/ws" else ""
    request = (f"GET {path}?organization_id={org} HTTP/1.1\r\nHost: bench\r\n{upgrade}"
               f"Authorization: Bearer {TOKEN}\r\n\r\n").encode()
    opened: list[tuple[asyncio.Transport, Subscriber]] = []
    for start in range(0, count, 200):
        batch = [loop.create_connection(
            lambda i=i: Subscriber(i < SAMPLED, latencies), "127.0.0.1", port)
            for i in range(start, min(count, start + 200))]
        for transport, sub in await asyncio.gather(*batch):
            transport.write(request)
            opened.append((transport, sub))  # type: ignore[arg-type]
        await asyncio.wait_for(asyncio.gather(*(s.subscribed for _, s in opened[start:])), 60)
    return opened


def rss_kib(root: int) -> float:
    total = 0
    for pid in descendants(root):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except FileNotFoundError:
            continue
        found = re.search(r"VmRSS:\s+(\d+) kB", status)
        total += int(found.group(1)) if found else 0
    return float(total)


async def steady_rss_kib(root: int, within_s: float = 10) -> float:
    """The process tree's RSS once it stopped moving (two samples 0.5 s apart within 64 KiB,
    after at least 2 s): every stream subscribed, its handshake's garbage collected or not."""
    await asyncio.sleep(1.5)
    last, deadline = rss_kib(root), time.monotonic() + within_s
    while time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        now = rss_kib(root)
        if abs(now - last) <= 64:
            return now
        last = now
    return last


def envelope(org: uuid.UUID, version: int, event: object) -> Envelope:
    return Envelope(event_id=uuid.uuid4(), stream_id=org, stream_type="organization",
                    version=version, organization_id=org, occurred_at=datetime.now(UTC),
                    actor=ACTOR, request_id="bench", correlation_id="bench",
                    causation_id="bench", event=event)  # type: ignore[arg-type]


class Writer:
    """Renames one organization: ``batch`` events per append, ``rate`` events/s (0: at once)."""

    def __init__(self, store: EventStore, org: uuid.UUID) -> None:
        self.store, self.org, self.version = store, org, 1
        store.append([envelope(org, 1, OrganizationCreated(
            name="Bench", slug=f"bench-{org.hex[:12]}", plan="enterprise",
            settings=OrganizationSettings()))])

    def run(self, seconds: float, rate: float, batch: int, most: int = 10**9) -> int:
        written, stop = 0, time.monotonic() + seconds
        while time.monotonic() < stop and written < most:
            events = [envelope(self.org, self.version + i + 1, OrganizationRenamed(
                name=f"n{self.version + i}", previous_name="p")) for i in range(batch)]
            sent = time.perf_counter()
            for position in self.store.append(events):
                APPENDED[position] = sent
            self.version += batch
            written += batch
            if rate:
                time.sleep(batch / rate)
        return written


async def settle(subs: list[Subscriber], expected: int, within_s: float = 60) -> float:
    """Wait until every open subscriber has ``expected`` events (or nothing moves for 3 s)."""
    last_total, last_move = -1, time.monotonic()
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        total = sum(s.events for s in subs)
        if all(s.events >= expected or s.closed for s in subs):
            return time.monotonic()
        if total != last_total:
            last_total, last_move = total, time.monotonic()
        elif time.monotonic() - last_move > 3:
            return last_move
        await asyncio.sleep(0.05)
    return time.monotonic()


async def one_size(port: int, api_pid: int, writer: Writer, size: int,
                   args: argparse.Namespace) -> None:
    latencies: list[float] = []
    warm = await subscribe(port, writer.org, 20, [])  # one-time costs out of the figure
    before = rss_kib(api_pid)
    opened = await subscribe(port, writer.org, size, latencies)
    per_conn = (await steady_rss_kib(api_pid) - before) / size
    print(f"streams {size:>5} subscribers: RSS {per_conn:6.1f} KiB per idle connection"
          f"  (aim < {RSS_AIM_KIB:.0f}; ratio {per_conn / RSS_AIM_KIB:.2f})")
    subs = [s for _, s in opened]
    for rate in args.rates:
        latencies.clear()
        got = [s.events for s in subs]
        written = await asyncio.to_thread(writer.run, args.seconds, rate, 1)
        await settle(subs, written + min(got))
        lat = list(latencies)
        print(f"streams {size:>5} subscribers: latency at {rate:3.0f} events/s p50"
              f" {pct(lat, 50):6.1f} ms  p99 {pct(lat, 99):6.1f} ms  (n={len(lat)}; aim p99"
              f" < {P99_AIM_MS:.0f} ms, ratio {pct(lat, 99) / P99_AIM_MS:.2f})")
    start_counts = [s.events for s in subs]
    started = time.monotonic()
    written = await asyncio.to_thread(writer.run, 60, 0, 50, args.burst)
    ended = await settle(subs, written + max(start_counts), within_s=120)
    delivered = sum(s.events for s in subs) - sum(start_counts)
    whole = sum(1 for s, c in zip(subs, start_counts, strict=True) if s.events - c >= written)
    elapsed = max(ended - started, 1e-3)
    print(f"streams {size:>5} subscribers: {delivered / size / elapsed:8.0f} events/s to each"
          f" ({delivered / elapsed:9.0f} deliveries/s; {written} events appended at once, all"
          f" delivered in {elapsed:.1f} s; {whole}/{size} got all,"
          f" {sum(s.closed for s in subs)} dropped)")
    for transport, _ in opened + warm:
        transport.close()
    await asyncio.sleep(1)


async def idle_sockets(port: int, api_pid: int, org: uuid.UUID, size: int) -> None:
    """RSS per idle WebSocket, measured as for the event streams."""
    warm = await subscribe(port, org, 20, [], "/v1/ws")
    before = rss_kib(api_pid)
    opened = await subscribe(port, org, size, [], "/v1/ws")
    per_conn = (await steady_rss_kib(api_pid) - before) / size
    print(f"websockets {size:>5} idle: RSS {per_conn:6.1f} KiB per connection  (aim < "
          f"{RSS_AIM_KIB:.0f}; ratio {per_conn / RSS_AIM_KIB:.2f})")
    for transport, _ in opened + warm:
        transport.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--burst", type=int, default=2000, help="events for the throughput")
    parser.add_argument("--rates", type=float, nargs="+", default=[10.0, 50.0],
                        help="events/s (one an append) for the latency figures")
    parser.add_argument("--sockets", type=int, default=1000,
                        help="idle WebSockets for their memory figure (0: none)")
    args = parser.parse_args()
    with private_environment() as settings, tempfile.TemporaryDirectory() as tmp:
        run(settings, Path(tmp) / "stack.log", args)


def run(settings: Settings, log: Path, args: argparse.Namespace) -> None:
    env = {"REDIS_KEY_PREFIX": f"{settings.kafka_topic_prefix}:", "RELAY_PORT": "0"}
    relay = spawn(settings, "relay", log, **env)
    store = EventStore(datastore_from_url(settings.database_url))
    try:
        writer = Writer(store, uuid.uuid4())
        print(f"streams: one API process, {os.cpu_count()} cores, load average"
              f" {os.getloadavg()[0]:.1f} at the start (the machine is shared)")
        for size in args.sizes:
            # A fresh API process per size: one that held the previous size's streams reuses
            # their freed memory, and its figure would be the difference, not the cost.
            port, api = api_process(settings, log, size + 100, env)
            try:
                uvloop.run(one_size(port, api.pid, writer, size, args))
            finally:
                stop(api)
        if args.sockets:
            port, api = api_process(settings, log, args.sockets + 100, env)
            try:
                uvloop.run(idle_sockets(port, api.pid, writer.org, args.sockets))
            finally:
                stop(api)
    finally:
        store.close()
        stop(relay)


def api_process(settings: Settings, log: Path, limit: int, env: dict[str, str],
                ) -> tuple[int, subprocess.Popen[bytes]]:
    port = free_port()
    api = spawn(settings, "api", log, PORT=str(port), API_WORKERS="1",
                STREAM_MAX_PER_ORG=str(limit), STREAM_MAX_PER_PROCESS=str(limit),
                ENABLE_RATE_LIMITING="false", ENABLE_REQUEST_LOG="false", **env)
    try:
        wait_serving(f"http://127.0.0.1:{port}", log)
    except BaseException:
        stop(api)
        raise
    return port, api


def wait_serving(base: str, log: Path) -> None:
    """Ready but for the pipeline: this bench runs no projector, so after the first size's
    appends the read models lag and readiness says 503 for that alone."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            answer = httpx.get(f"{base}/health/ready", timeout=2)
            details = answer.json().get("details", {}) if answer.status_code == 503 else {}
            if answer.status_code == 200 or (details and all(
                    d.get("status") == "healthy" for name, d in details.items()
                    if name != "pipeline")):
                return
        except (httpx.TransportError, ValueError):
            pass
        time.sleep(0.2)
    raise SystemExit(f"api did not become ready:\n{log.read_text()[-2000:]}")


def stop(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=30)


if __name__ == "__main__":
    main()
