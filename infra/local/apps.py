"""The app processes (api, relay, projector) started in the background by ``infra/dev up``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from infra.local.services import (
    LOG,
    RUN,
    StartError,
    _terminate,
    admin_token,
    http_ok,
    say,
    wait,
)
from infra.settings import Settings

CHRONICLE = str(Path(sys.executable).parent / "chronicle")
APPS = ("relay", "projector", "api")


def health_url(settings: Settings, app: str) -> str:
    port = {"api": settings.port, "relay": settings.relay_port,
            "projector": settings.projector_port}[app]
    path = "/health/ready" if app == "api" else "/health"
    return f"http://{settings.host}:{port}{path}"


def alive(app: str) -> int | None:
    pidfile = RUN / f"{app}.pid"
    if not pidfile.exists():
        return None
    pid = int(pidfile.read_text())
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    return pid


def one_shot(env: dict[str, str], *args: str) -> str:
    result = subprocess.run([CHRONICLE, *args], env=env, capture_output=True, text=True,
                            check=False)
    if result.returncode != 0:
        log = LOG / f"{args[0]}.log"
        log.write_text(result.stdout + result.stderr)
        raise StartError(f"chronicle {' '.join(args)} failed", log)
    return result.stdout.strip()


def start(settings: Settings) -> None:
    LOG.mkdir(parents=True, exist_ok=True)
    token = admin_token()
    env = {**os.environ, "CHRONICLE_ADMIN_TOKEN": token}
    say("migrating (event store, read models, ClickHouse tables, Kafka topics)")
    one_shot(env, "migrate")
    say(one_shot(env, "seed"))
    for app in APPS:
        url = health_url(settings, app)
        if alive(app) and http_ok(url):
            say(f"{app}: already running")
            continue
        say(f"{app}: starting")
        log = LOG / f"{app}.log"
        process = subprocess.Popen([CHRONICLE, app], env=env, stdout=log.open("ab"),
                                   stderr=subprocess.STDOUT, start_new_session=True)
        (RUN / f"{app}.pid").write_text(str(process.pid))
        def healthy(url: str = url, process: subprocess.Popen[bytes] = process) -> bool:
            return process.poll() is None and http_ok(url)

        wait(healthy, 60, app, log)
        say(f"{app}: healthy ({url})")
    base = f"http://{settings.host}:{settings.port}"
    print(f"""
Chronicle is up at {base}
  operator token: {token}   (stored in var/admin_token)
  try:  curl -s -H "Authorization: Bearer {token}" {base}/v1/organizations
  logs: var/log/   stop: infra/dev down
""", flush=True)


def stop() -> None:
    for app in reversed(APPS):
        pid = alive(app)
        if pid:
            say(f"{app}: stopping")
            _terminate(pid)
        (RUN / f"{app}.pid").unlink(missing_ok=True)


def status(settings: Settings) -> None:
    for app in APPS:
        pid = alive(app)
        healthy = pid is not None and http_ok(health_url(settings, app))
        print(f"{app:<11} {'pid ' + str(pid) if pid else 'not running':<14}"
              f" {'healthy' if healthy else ''}")
