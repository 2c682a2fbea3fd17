"""Idle CPU of a running stack, per process group, from /proc/<pid>/stat over a window."""

from __future__ import annotations

import os
import time
from pathlib import Path

TICK_S = 1 / os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    try:
        # The command name may hold spaces and parentheses: split after its closing one.
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None


def descendants(root: int) -> list[int]:
    """``root`` and every process below it (granian's workers, PostgreSQL's backends)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))):
            parents.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(parents.get(pid, []))
    return found


def listener(port: int) -> int | None:
    """The pid of the process listening on TCP ``port`` (any address), if it can be seen."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            parts = line.split()
            if parts[3] == "0A" and int(parts[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(f"socket:[{parts[9]}]")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if any(os.readlink(fd) in inodes for fd in (entry / "fd").iterdir()):
                return int(entry.name)
        except OSError:
            continue
    return None


def _ticks(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        if fields := _stat(pid):
            total += int(fields[11]) + int(fields[12])  # utime + stime
    return total


Snapshot = dict[str, dict[int, int]]  # group -> pid -> CPU ticks so far


def ticks_of(groups: dict[str, list[int]]) -> Snapshot:
    """Each group's processes as they are now (PostgreSQL's backends come and go: the group's
    pids are its roots, searched again each time) and their CPU ticks."""
    found: Snapshot = {}
    for name, roots in groups.items():
        pids = {pid for root in roots[:1] for pid in descendants(root)} | set(roots)
        found[name] = {pid: _ticks([pid]) for pid in pids}
    return found


def us_per_request(before: Snapshot, after: Snapshot, requests: int) -> dict[str, float]:
    """Per group: CPU microseconds per request between two snapshots. A process that started
    meanwhile counts from zero; one that ended is lost (an undercount, never negative)."""
    return {name: 1e6 * TICK_S / max(requests, 1) * sum(
        ticks - before[name].get(pid, 0) for pid, ticks in after[name].items()
        if ticks >= before[name].get(pid, 0)) for name in before}


def cpu_percent(groups: dict[str, list[int]], seconds: float) -> dict[str, float]:
    """Per group: CPU used over ``seconds`` as a percentage of one core."""
    before = {name: _ticks(pids) for name, pids in groups.items()}
    time.sleep(seconds)
    return {name: 100 * (_ticks(pids) - before[name]) * TICK_S / seconds
            for name, pids in groups.items()}
