"""Idle cost of the workers: CPU of `chronicle relay` and `chronicle projector` with no traffic.

    python -m bench.idle [--seconds 60] [--warmup 15]

Reads utime+stime (all threads) from /proc/<pid>/stat before and after the window, against the
configured broker, PostgreSQL and ClickHouse, in a private database and topic prefix.
"""

from __future__ import annotations

import argparse
import os
import signal
import tempfile
import time
from pathlib import Path

from bench.common import private_environment, spawn


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--warmup", type=float, default=15.0)
    args = parser.parse_args()
    with private_environment() as settings, tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "workers.log"
        procs = {name: spawn(settings, name, log, RELAY_PORT="0", PROJECTOR_PORT="0")
                 for name in ("relay", "projector")}
        try:
            time.sleep(args.warmup)  # consumers join their groups, first proofs are written
            before = {name: cpu_seconds(p.pid) for name, p in procs.items()}
            started = time.monotonic()
            time.sleep(args.seconds)
            elapsed = time.monotonic() - started
            after = {name: cpu_seconds(p.pid) for name, p in procs.items()}
        finally:
            for p in procs.values():
                os.killpg(p.pid, signal.SIGTERM)
            for p in procs.values():
                p.wait(timeout=30)
        total = 0.0
        for name in procs:
            share = (after[name] - before[name]) / elapsed * 100
            total += share
            print(f"idle {name:<10} {share:5.2f} % of one core over {elapsed:.0f} s")
        print(f"idle {'together':<10} {total:5.2f} % of one core (target: under 5 %)")


if __name__ == "__main__":
    main()
