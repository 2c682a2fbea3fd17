"""A projector process that heals itself: a long pause, and a poison event parked and retried."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg

from commands.runner import StreamWrite, envelopes
from domain.organization.events import OrganizationCreated, OrganizationSettings
from infra.eventstore import EventStore, datastore_from_url
from infra.relay import Relay
from infra.settings import ROOT, Settings
from projections.status import caught_up
from tests.builders import append_history, context
from tests.conftest import env_for, free_port, spawn, wait_until


@contextmanager
def relay_thread(settings: Settings, store: EventStore) -> Iterator[Relay]:
    relay = Relay(settings, store)
    thread = threading.Thread(target=relay.run, daemon=True)
    thread.start()
    try:
        yield relay
    finally:
        relay.stop()
        thread.join(timeout=30)


def health(port: int, timeout: float = 5) -> tuple[int, dict[str, object]]:
    response = httpx.get(f"http://127.0.0.1:{port}/health", timeout=timeout)
    return response.status_code, response.json()


def names(conn: psycopg.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM organizations").fetchall()}


def one_org(store: EventStore) -> str:
    """Append one organization with a name of its own; returns the name."""
    oid = uuid.uuid4()
    name = f"solo {oid.hex[:8]}"
    event = OrganizationCreated(name=name, slug=f"s-{oid.hex[:12]}", plan="free",
                                settings=OrganizationSettings())
    store.append(envelopes(context(), [StreamWrite(oid, "organization", oid, 0, [event])]))
    return name


def stop_process(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGCONT)
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


def test_a_projector_paused_15_s_converges_by_itself_and_its_health_says_503_until_it_has(
        isolated: Settings, tmp_path: Path) -> None:
    store = EventStore(datastore_from_url(isolated.database_url))
    log, port = tmp_path / "projector.log", free_port()
    with relay_thread(isolated, store), \
            psycopg.connect(isolated.database_url, autocommit=True) as conn:
        projector = spawn(isolated, "projector", "--projection", "organizations", log=log,
                          PROJECTOR_PORT=str(port), PROJECTOR_STALL_SECONDS="3")
        try:
            first = one_org(store)
            wait_until(lambda: first in names(conn) and health(port)[0] == 200, timeout=60,
                       message=f"a healthy projector ({log.read_text()[-800:]})")
            os.killpg(projector.pid, signal.SIGSTOP)
            during = one_org(store)
            answers: list[tuple[int, dict[str, object]]] = []
            # Asked while paused: answered the moment the process runs again, before it heals.
            asking = threading.Thread(target=lambda: answers.append(health(port, timeout=60)))
            asking.start()
            time.sleep(15)
            os.killpg(projector.pid, signal.SIGCONT)
            asking.join(timeout=60)
            after = one_org(store)
            wait_until(lambda: {during, after} <= names(conn), timeout=90,
                       message=f"events after the pause applied ({log.read_text()[-1500:]})")
            wait_until(lambda: health(port)[0] == 200, timeout=30, message="health back to 200")
            assert projector.poll() is None, "the projector healed without a restart"
        finally:
            stop_process(projector)
    store.close()
    assert answers, "the health request made during the pause got no answer"
    status, body = answers[0]
    assert status == 503, body
    assert body["failing"] == ["organizations"]


def parked(conn: psycopg.Connection) -> list[tuple[object, ...]]:
    return conn.execute("SELECT position, event_type, attempts, error, length(payload)"
                        " FROM projection_dead_letters WHERE projection = 'organizations'"
                        ).fetchall()


def chronicle(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "infra.cli", *args], cwd=ROOT,
                          env=env_for(settings), capture_output=True, text=True, timeout=60,
                          check=False)


def test_a_poison_event_is_parked_after_bounded_retries_and_applied_by_retry_once_fixed(
        isolated: Settings, tmp_path: Path) -> None:
    store = EventStore(datastore_from_url(isolated.database_url))
    log, port = tmp_path / "projector.log", free_port()
    with relay_thread(isolated, store), \
            psycopg.connect(isolated.database_url, autocommit=True) as conn:
        # A cause the test can remove: the read model refuses one name.
        conn.execute("ALTER TABLE organizations ADD CONSTRAINT no_poison"
                     " CHECK (name <> 'org 1') NOT VALID")
        projector = spawn(isolated, "projector", "--projection", "organizations", log=log,
                          PROJECTOR_PORT=str(port), PROJECTOR_MAX_RETRIES="2",
                          PROJECTOR_RETRY_BACKOFF_MS="50")
        try:
            appended = append_history(store, streams=3, renames=0)  # org 0, org 1, org 2
            head = store.head()
            wait_until(lambda: caught_up(conn, "organizations") >= head, timeout=60,
                       message=f"the projection moves past the poison ({log.read_text()[-800:]})")
            assert names(conn) == {"org 0", "org 2"}
            assert_parked_once(conn, isolated, port, head)
            assert_retry_applies_it_once_the_cause_is_gone(conn, isolated)
            assert names(conn) == {s.name for s in appended.values()}
            later = one_org(store)
            wait_until(lambda: later in names(conn), message="later events still applied")
        finally:
            stop_process(projector)
    store.close()


def assert_parked_once(conn: psycopg.Connection, settings: Settings, port: int,
                       head: int) -> None:
    ((position, event_type, attempts, error, size),) = parked(conn)
    assert event_type == "organization.Created"
    assert attempts == 3, "the first try and PROJECTOR_MAX_RETRIES=2 retries"
    assert "no_poison" in str(error)
    assert int(str(size)) > 0
    assert 0 < int(str(position)) < head
    status, body = health(port)
    assert status == 200, body
    assert body["parked"] == 1, body
    assert "parked=1" in chronicle(settings, "projections", "status").stdout


def assert_retry_applies_it_once_the_cause_is_gone(conn: psycopg.Connection,
                                                    settings: Settings) -> None:
    still = chronicle(settings, "projections", "retry", "organizations")
    assert still.returncode == 1, still
    assert "0 applied, 1 still parked" in still.stdout, still
    assert parked(conn)[0][2] == 4, "one more attempt, the new error kept"
    conn.execute("ALTER TABLE organizations DROP CONSTRAINT no_poison")
    fixed = chronicle(settings, "projections", "retry", "organizations")
    assert fixed.returncode == 0, fixed
    assert "1 applied, 0 still parked" in fixed.stdout, fixed
    assert parked(conn) == []
