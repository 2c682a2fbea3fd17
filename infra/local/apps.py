"""The app processes (api, relay, projector, bulk, webhooks, alerts) that ``infra/dev up`` runs
in the background.

Each runs as ``.venv/bin/chronicle <name>`` in its own session, output in var/log/<name>.log and
pid in var/run/<name>.pid; it is healthy when its health URL answers 200.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from infra.local.common import (
    Layout,
    StartError,
    http_text,
    pid_alive,
    read_pid,
    say,
    terminate,
    wait_until,
)
from infra.settings import Settings

CHRONICLE = Path(sys.executable).parent / "chronicle"
# The pipeline first, so the API is announced last.
APPS = ("relay", "projector", "bulk", "webhooks", "alerts", "api")
HEALTH_TIMEOUT = 60.0


def health_url(settings: Settings, app: str) -> str:
    port = {"api": settings.port, "relay": settings.relay_port,
            "projector": settings.projector_port, "bulk": settings.bulk_port,
            "webhooks": settings.webhook_port, "alerts": settings.alerts_port}[app]
    path = "/health/ready" if app == "api" else "/health"
    return f"http://{_client_host(settings.host)}:{port}{path}"


def _client_host(host: str) -> str:
    return "127.0.0.1" if host in ("", "0.0.0.0", "::") else host


def healthy(settings: Settings, app: str) -> bool:
    return http_text(health_url(settings, app)) is not None


def running(layout: Layout, app: str) -> int | None:
    """The pid of our live ``chronicle <app>`` process, if there is one."""
    pid = read_pid(layout.run / f"{app}.pid")
    if pid is None or not pid_alive(pid):
        return None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    return pid if any(part.endswith(b"chronicle") for part in cmdline) else None


def one_shot(layout: Layout, command: str) -> str:
    """Run ``chronicle <command>`` to completion; its output goes to var/log/<command>.log."""
    log = layout.log / f"{command}.log"
    began = time.monotonic()
    try:
        result = subprocess.run([str(CHRONICLE), command], capture_output=True, text=True,
                                check=False, stdin=subprocess.DEVNULL, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise StartError(f"chronicle {command}: {exc}", None) from None
    log.write_text(result.stdout + result.stderr)
    if result.returncode != 0:
        raise StartError(f"chronicle {command} exited with {result.returncode}", log)
    say(f"{command}: done in {time.monotonic() - began:.1f} s")
    return result.stdout.strip()


def launch(layout: Layout, app: str) -> subprocess.Popen[bytes]:
    log = layout.log / f"{app}.log"
    with log.open("ab") as out:
        out.write(f"\n---- {time.strftime('%F %T')} chronicle {app}\n".encode())
        out.flush()
        process = subprocess.Popen([str(CHRONICLE), app], stdin=subprocess.DEVNULL, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    (layout.run / f"{app}.pid").write_text(f"{process.pid}\n")
    return process


def start(settings: Settings, layout: Layout) -> None:
    """Migrate, seed, start whatever app process is not running, and wait until all are healthy."""
    if not settings.admin_token:
        raise StartError("CHRONICLE_ADMIN_TOKEN is empty (infra/dev up sets it from var/admin_token)")
    if not CHRONICLE.exists():
        raise StartError(f"{CHRONICLE} is missing: install the project (infra/dev bootstrap does)")
    layout.log.mkdir(parents=True, exist_ok=True)
    layout.run.mkdir(parents=True, exist_ok=True)
    one_shot(layout, "migrate")
    seeded = one_shot(layout, "seed")
    if seeded:
        say(f"seed: {seeded.splitlines()[-1]}")
    waiting: dict[str, subprocess.Popen[bytes] | int] = {}
    for app in APPS:
        pid = running(layout, app)
        if pid is None and healthy(settings, app):
            say(f"{app}: something not started here answers {health_url(settings, app)}; leaving it")
            continue
        say(f"{app}: starting" if pid is None else f"{app}: already running (pid {pid})")
        waiting[app] = launch(layout, app) if pid is None else pid
    for app, process in waiting.items():
        wait_healthy(settings, layout, app, process)
    announce(settings, layout)


def wait_healthy(settings: Settings, layout: Layout, app: str,
                 process: subprocess.Popen[bytes] | int) -> None:
    def alive() -> bool:
        if isinstance(process, int):
            return pid_alive(process)
        return process.poll() is None

    url = health_url(settings, app)
    wait_until(lambda: healthy(settings, app), HEALTH_TIMEOUT, f"chronicle {app} ({url})",
               layout.log / f"{app}.log", alive)
    say(f"{app}: healthy ({url})")


def announce(settings: Settings, layout: Layout) -> None:
    api = f"http://{_client_host(settings.host)}:{settings.port}"
    print(f"""
Chronicle is up: {api}
  admin token:   {settings.admin_token}
  try:           curl -H "Authorization: Bearer {settings.admin_token}" {api}/v1/organizations
  logs:          {layout.log}/
  status:        infra/dev status     stop: infra/dev down
""", flush=True)


def stop(layout: Layout) -> bool:
    """SIGTERM each app process we started (SIGKILL after 20 s); True when all are gone."""
    for app in reversed(APPS):
        pid = running(layout, app)
        if pid is not None:
            say(f"{app}: stopping (pid {pid})")
            if terminate(pid):
                say(f"{app}: did not stop within 20 s of SIGTERM; killed")
        (layout.run / f"{app}.pid").unlink(missing_ok=True)
    return all(running(layout, app) is None for app in APPS)


def status(settings: Settings, layout: Layout) -> None:
    for app in APPS:
        pid = running(layout, app)
        state = "healthy" if healthy(settings, app) else "not answering"
        owner = f"pid {pid}" if pid else "not started here"
        print(f"{app:<11} {health_url(settings, app):<36} {state}  ({owner})", flush=True)


if __name__ == "__main__":
    print("use: python -m infra.local.services start|stop|status --with-app", file=sys.stderr)
    sys.exit(2)
