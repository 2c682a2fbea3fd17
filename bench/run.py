"""Run every benchmark on the local stack and print figures and ratios (`infra/dev bench`)."""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import tempfile
import time
from pathlib import Path

import httpx
import psycopg

from bench import appends, auth, http, platform, proc, serving, wrk
from bench.common import TOKEN, private_environment, spawn, summary
from projections.registry import PROJECTIONS
from projections.status import statuses


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
    parser.add_argument("--http-seconds", type=int, default=5, help="per wrk run")
    parser.add_argument("--concurrency", type=int, default=32, help="wrk connections")
    parser.add_argument("--lag-samples", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2, help="API workers (API_WORKERS)")
    parser.add_argument("--idle-seconds", type=float, default=60.0)
    parser.add_argument("--lag-rate", type=float, default=500.0, help="commands/s offered")
    parser.add_argument("--lag-seconds", type=float, default=10.0)
    parser.add_argument("--only", choices=["http", "appends", "pipeline", "platform", "auth"],
                        action="append",
                        help="run only these parts (repeatable); default all")
    args = parser.parse_args()
    parts = args.only or ["http", "appends", "pipeline", "platform", "auth"]
    with private_environment() as settings:
        if "http" in parts:
            run_serving(settings, args)
        if "appends" in parts:
            run_appends(settings, args.seconds)
        if "pipeline" in parts:
            run_http(settings, args)
        if "platform" in parts:
            run_platform(settings, args)
        if "auth" in parts:
            run_auth(settings, args)


def run_appends(settings, seconds: float) -> None:  # type: ignore[no-untyped-def]
    print(f"== raw appends (two events per transaction, {seconds:g} s each, kinds interleaved)")
    results = appends.run(settings, seconds)
    for threads in appends.WRITERS:
        ours, hook, notify, stock, plain = (results[k][threads] for k in appends.KINDS)
        print(f"  {threads:2d} writer(s): ours {ours:5.0f} tx/s (ours/stock {ours / stock:.2f},"
              f" ours/plain {ours / plain:.2f}) | stock recorder {stock:5.0f} | plain INSERT"
              f" {plain:5.0f} | ours with a hook {hook:5.0f}, and an in-transaction NOTIFY"
              f" {notify:5.0f} (NOTIFY after commit / in it {hook / notify:.2f})")
    lags = appends.horizon_lag(settings, seconds)
    print(f"  final horizon behind the writers (500 appends/s from 16 writers; commit to read by"
          f" a reader tailing like the relay, in its own process): {summary(lags)}")


def run_serving(settings, args) -> None:  # type: ignore[no-untyped-def]
    """The framework ceiling, our routes beside it, idle CPU, and lag at a fixed load."""
    port, hello_port = free_port(), free_port()
    base, hello = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{hello_port}"
    log = Path(tempfile.mkdtemp()) / "bench-serving.log"
    procs = [spawn(settings, p, log, PORT=str(port), API_WORKERS=str(args.workers),
                   RELAY_PORT=str(free_port()), PROJECTOR_PORT=str(free_port()),
                   **serving.ROOMY_ENV) for p in ("relay", "projector", "api")]
    procs.append(serving.hello_server(hello_port, args.workers, log.open("ab")))
    try:
        wait_ready(base, log)
        serving.wait_up(f"{hello}/hello")
        found = serving.tenant(base)
        print(f"== HTTP serving: granian, {args.workers} workers each, rate limiter on with limits"
              f" above the load (wrk, {args.http_seconds} s per run)")
        groups = process_groups(procs)
        rows = serving.measure(hello, base, found, args.http_seconds, (args.concurrency, 1),
                               groups, settings.database_url)
        for line in serving.report(rows):
            print(line, flush=True)
        print(f"== CPU per request by process at {args.concurrency} connections (us, from"
              " /proc over the same runs; the machine's other load not counted), and PostgreSQL"
              " transactions per request")
        for line in serving.cpu_report(rows, args.concurrency):
            print(line, flush=True)
        run_lag(settings, base, args)
        run_idle(groups, args.idle_seconds, settings.database_url)
    finally:
        stop(procs)


def run_lag(settings, base: str, args) -> None:  # type: ignore[no-untyped-def]
    result = http.lag_at_rate(base, TOKEN, settings.database_url, args.lag_rate,
                              args.lag_seconds)
    print(f"== command-to-read-model lag at a fixed offered load ({result.offered:.0f} POST/s"
          f" for {args.lag_seconds:.0f} s; answered {result.achieved:.0f}/s,"
          f" failed or never applied {result.failed})")
    print(f"  {summary(result.lags_ms) if result.lags_ms else 'no command was applied'}")


def process_groups(procs) -> dict[str, list[int]]:  # type: ignore[no-untyped-def]
    """Our three processes (the API with granian's workers) and the shared services."""
    groups = {f"api (granian main + workers, pid {procs[2].pid})":
              proc.descendants(procs[2].pid),
              f"relay (pid {procs[0].pid})": [procs[0].pid],
              f"projector (pid {procs[1].pid})": [procs[1].pid]}
    for name, port in (("kafka broker", 59092), ("postgresql (all backends)", 55432),
                       ("redis", 56379)):
        pid = proc.listener(port)
        if pid is not None:
            groups[f"{name} (pid {pid}, shared)"] = proc.descendants(pid)
        else:
            groups[f"{name}: pid not found"] = []
    return groups


def caught_up_everywhere(database_url: str, timeout_s: float) -> float:
    """Seconds until every projection has applied the store's head (or the timeout passed)."""
    started = time.monotonic()
    with psycopg.connect(database_url, autocommit=True) as conn:
        while time.monotonic() - started < timeout_s:
            # Only the projector's projections: the bench runs no `chronicle webhooks`, so
            # the fan-out's checkpoint never moves (waiting for it was the whole timeout).
            if all(int(s["lag"]) == 0 for s in statuses(conn) if s["projection"] in PROJECTIONS):
                break
            time.sleep(1)
    return time.monotonic() - started


def run_idle(groups: dict[str, list[int]], seconds: float, database_url: str) -> None:
    # Idle means caught up: after the lag run, the slower projections (the audit trail's, the
    # hash chain's) still work through its backlog for a while, which is load, not idleness.
    waited = caught_up_everywhere(database_url, timeout_s=300)
    time.sleep(5)
    print(f"== idle CPU over {seconds:.0f} s, no traffic, every projection caught up (after"
          f" {waited:.0f} s) (% of one core, from /proc/<pid>/stat)")
    used = proc.cpu_percent(groups, seconds)
    for name, pct in used.items():
        print(f"  {name:<55} {pct:6.2f} %")
    ours = sum(v for k, v in used.items() if k.startswith(("api", "relay", "projector")))
    print(f"  {'chronicle processes together':<55} {ours:6.2f} %  (target < 5 %)")


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
        print(f"== rate limiter + idempotency layer on vs off (wrk, {args.concurrency}"
              f" connections, {args.http_seconds} s x 3 rounds each; medians)")
        for line in platform.compare(f"http://127.0.0.1:{on_port}",
                                     f"http://127.0.0.1:{off_port}", TOKEN,
                                     args.http_seconds, args.concurrency):
            print(line)
    finally:
        stop(procs)


def run_auth(settings, args) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = Path(tempfile.mkdtemp()) / "bench-auth.log"
    # Rate limiting off: this measures authentication, not the limiter (see platform).
    procs = [spawn(settings, p, log, PORT=str(port), API_WORKERS="2", ENABLE_RATE_LIMITING="false",
                   RELAY_PORT=str(free_port()), PROJECTOR_PORT=str(free_port()))
             for p in ("relay", "projector", "api")]
    try:
        wait_ready(base, log)
        print(f"== authentication cost (wrk, {args.concurrency} connections, {args.http_seconds}"
              " s x 3 interleaved rounds, api with 2 workers; medians)")
        for line in auth.compare(base, TOKEN, settings, args.http_seconds, args.concurrency):
            print(line)
    finally:
        stop(procs)


def run_http(settings, args) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = Path(tempfile.mkdtemp()) / "bench-stack.log"
    procs = [spawn(settings, p, log, PORT=str(port), API_WORKERS="2", ENABLE_RATE_LIMITING="false",
                   RELAY_PORT=str(free_port()), PROJECTOR_PORT=str(free_port()))
             for p in ("relay", "projector", "api")]
    try:
        wait_ready(base, log)
        print(f"== HTTP organization creates (wrk, {args.concurrency} connections,"
              f" {args.http_seconds} s x 3 rounds, api with 2 workers; medians)")
        floors, creates = [], []
        for _ in range(3):
            floors.append(wrk.run(base, TOKEN, "get", args.http_seconds, args.concurrency))
            creates.append(wrk.run(base, TOKEN, "create", args.http_seconds, args.concurrency))
        rate = statistics.median(c.rate for c in creates)
        floor = statistics.median(f.rate for f in floors)
        print(f"  {rate:8.0f} commands/s  p50 {statistics.median(c.p50_ms for c in creates):.1f} ms"
              f"  p99 {statistics.median(c.p99_ms for c in creates):.1f} ms"
              f"  non-2xx {sum(c.non_2xx for c in creates)}")
        print(f"  GET /v1/organizations?limit=1 (read model) {floor:8.0f} req/s"
              f" | writes/reads {rate / floor:.2f}")
        print(f"== command-to-read-model lag ({args.lag_samples} sequential writes, each then"
              " read with min_position)")
        print(f"  {summary(http.lag(base, TOKEN, args.lag_samples))}")
    finally:
        stop(procs)


def stop(procs) -> None:  # type: ignore[no-untyped-def]
    for p in procs:
        os.killpg(p.pid, signal.SIGTERM)
    for p in procs:
        p.wait(timeout=30)


if __name__ == "__main__":
    main()
