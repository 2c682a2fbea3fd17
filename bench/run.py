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

from bench import appends, http
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
    args = parser.parse_args()
    with private_environment() as settings:
        print(f"== raw appends (two events per transaction, {args.seconds:.0f} s each)")
        results = appends.run(settings, args.seconds, (1, 4))
        for threads in (1, 4):
            ours, stock, plain = (results[n][threads] for n in ("ours", "stock", "plain"))
            print(f"  {threads} thread(s): ours {ours:8.0f} tx/s | stock recorder {stock:8.0f}"
                  f" | plain INSERT {plain:8.0f} | ours/stock {ours / stock:.2f}"
                  f" | ours/plain {ours / plain:.2f}")
        run_http(settings, args)


def run_http(settings, args) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = Path(tempfile.mkdtemp()) / "bench-stack.log"
    procs = [spawn(settings, p, log, PORT=str(port), API_WORKERS="2",
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
