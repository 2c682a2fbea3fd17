"""Run every benchmark on the local stack and print figures and ratios (`infra/dev bench`)."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import tempfile
import time
from pathlib import Path

import httpx

from bench import appends, http, platform
from bench.common import TOKEN, private_environment, spawn, summary


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(base: str, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health/ready", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"api did not become ready:\n{log.read_text()[-2000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0, help="per append measurement")
    parser.add_argument("--writes", type=int, default=3000, help="HTTP creates")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--lag-samples", type=int, default=300)
    parser.add_argument("--only", choices=["appends", "pipeline", "platform"], action="append",
                        help="run only these parts (repeatable); default all")
    args = parser.parse_args()
    parts = args.only or ["appends", "pipeline", "platform"]
    with private_environment() as settings:
        if "appends" in parts:
            run_appends(settings, args.seconds)
        if "pipeline" in parts:
            run_http(settings, args)
        if "platform" in parts:
            run_platform(settings, args)


def run_appends(settings, seconds: float) -> None:  # type: ignore[no-untyped-def]
    print(f"== raw appends (two events per transaction, {seconds:.0f} s each)")
    results = appends.run(settings, seconds, (1, 4))
    for threads in (1, 4):
        ours, stock, plain = (results[n][threads] for n in ("ours", "stock", "plain"))
        print(f"  {threads} thread(s): ours {ours:8.0f} tx/s | stock recorder {stock:8.0f}"
              f" | plain INSERT {plain:8.0f} | ours/stock {ours / stock:.2f}"
              f" | ours/plain {ours / plain:.2f}")


def run_platform(settings, args) -> None:  # type: ignore[no-untyped-def]
    on_port, off_port = free_port(), free_port()
    log = Path(tempfile.mkdtemp()) / "bench-platform.log"
    roomy = {"RATE_LIMIT_PER_SECOND": "1000000", "RATE_LIMIT_BURST": "1000000",
             "RATE_LIMIT_PER_MINUTE": "100000000", "RATE_LIMIT_PER_HOUR": "100000000",
             "RATE_LIMIT_PER_DAY": "100000000"}
    procs = [spawn(settings, "api", log, PORT=str(on_port), API_WORKERS="2", **roomy),
             spawn(settings, "api", log, PORT=str(off_port), API_WORKERS="2",
                   ENABLE_RATE_LIMITING="false")]
    try:
        for port in (on_port, off_port):
            wait_ready(f"http://127.0.0.1:{port}", log)
        print(f"== rate limiter + idempotency layer on vs off ({args.writes // 3} requests x 3"
              f" rounds each, {args.concurrency} clients; medians)")
        for line in platform.compare(f"http://127.0.0.1:{on_port}",
                                     f"http://127.0.0.1:{off_port}", TOKEN,
                                     args.writes // 3, args.concurrency):
            print(line)
    finally:
        for p in procs:
            os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            p.wait(timeout=30)


def run_http(settings, args) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = Path(tempfile.mkdtemp()) / "bench-stack.log"
    procs = [spawn(settings, p, log, PORT=str(port), API_WORKERS="2", ENABLE_RATE_LIMITING="false",
                   RELAY_PORT=str(free_port()), PROJECTOR_PORT=str(free_port()))
             for p in ("relay", "projector", "api")]
    try:
        wait_ready(base, log)
        print(f"== HTTP organization creates ({args.writes}, {args.concurrency} concurrent"
              " clients, api with 2 workers; the client runs on the same 2 cores)")
        floor = asyncio.run(http.floor(base, args.writes, args.concurrency))
        rate, latencies, errors = asyncio.run(
            http.writes(base, TOKEN, args.writes, args.concurrency))
        print(f"  {rate:8.0f} commands/s  {summary(latencies)}  errors {errors}")
        print(f"  GET /health/live floor with the same client: {floor:8.0f} req/s"
              f" | writes/floor {rate / floor:.2f}")
        print(f"== command-to-read-model lag ({args.lag_samples} sequential writes)")
        print(f"  {summary(asyncio.run(http.lag(base, TOKEN, args.lag_samples)))}")
    finally:
        for p in procs:
            os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            p.wait(timeout=30)


if __name__ == "__main__":
    main()
