"""Projectors on the real broker, PostgreSQL and ClickHouse: kills, redelivery and rebuilds."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path
from typing import Any

import psycopg

from infra import clickhouse
from infra.eventstore import EventStore, datastore_from_url
from infra.projector.rebuild import rebuild
from infra.relay import Relay
from infra.settings import Settings
from projections.status import caught_up
from tests.builders import append_history
from tests.conftest import Workers, spawn, wait_until


def rows(conn: psycopg.Connection) -> dict[Any, tuple[Any, ...]]:
    found = conn.execute(
        "SELECT id, name, slug, plan, status, version, settings::text FROM organizations"
    ).fetchall()
    return {r[0]: r[1:] for r in found}


# The projections this test checks (the others would only add consumer groups to join).
UNDER_TEST = ("projector", "--projection", "organizations", "--projection", "clickhouse_events")


def consumed(conn: psycopg.Connection, projection: str) -> int:
    row = conn.execute("SELECT coalesce(sum(next_offset), 0) FROM projection_partitions"
                       " WHERE projection = %s", (projection,)).fetchone()
    return int(row[0]) if row else 0


def test_a_projector_killed_mid_batch_converges_to_exactly_the_right_rows(
        isolated: Settings, tmp_path: Path) -> None:
    store = EventStore(datastore_from_url(isolated.database_url))
    expected = append_history(store, streams=150, renames=30)
    total = len(expected) * 31  # a creation and 30 renames per stream
    head = store.head()
    relay = Relay(isolated, store)
    thread = threading.Thread(target=relay.run, daemon=True)
    thread.start()
    log = tmp_path / "projector.log"
    try:
        with psycopg.connect(isolated.database_url, autocommit=True) as conn:
            projector = spawn(isolated, *UNDER_TEST, log=log, PROJECTOR_BATCH_SIZE="20",
                              PROJECTOR_PORT="0")
            wait_until(lambda: consumed(conn, "organizations") >= total // 4, timeout=90,
                       message=f"projector progress ({log.read_text()[-500:]})")
            os.killpg(projector.pid, signal.SIGKILL)
            projector.wait()
            assert consumed(conn, "organizations") < total
            again = spawn(isolated, *UNDER_TEST, log=log, PROJECTOR_PORT="0")
            try:
                for name in ("organizations", "clickhouse_events"):
                    wait_until(lambda n=name: caught_up(conn, n) >= head, timeout=90,
                               message=f"{name} catch-up ({log.read_text()[-500:]})")
            finally:
                os.killpg(again.pid, signal.SIGTERM)
                again.wait(timeout=30)
            found = rows(conn)
    finally:
        relay.stop()
        thread.join(timeout=30)
    assert {k: (v[0], v[3], v[4]) for k, v in found.items()} == {
        k: (s.name, s.status, 31) for k, s in expected.items()}
    ch = clickhouse.client(isolated)
    counted = ch.query("SELECT count(), uniqExact(stream_id, version) FROM events FINAL").result_rows
    ch.close()
    assert counted[0] == (total, total)
    store.close()


def test_a_redelivered_batch_changes_nothing(settings: Settings, store: EventStore,
                                             workers: Workers) -> None:
    from projections.base import Item
    from projections.organizations import OrganizationsProjection

    expected = append_history(store, streams=5, renames=3)
    wait_until(lambda: caught_up_all(settings, store.head()), message="projection")
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        before = rows(conn)
        replayed = [Item(r.position, r.envelope) for r in store.read(0, 10_000)]
        with conn.transaction(), conn.cursor() as cur:
            OrganizationsProjection().apply(cur, replayed)
        assert rows(conn) == before
    assert all(before[k][4] == 4 for k in expected)


def caught_up_all(settings: Settings, head: int) -> bool:
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        return all(caught_up(conn, n) >= head for n in ("organizations", "clickhouse_events"))


def test_a_rebuilt_projection_equals_the_live_one(settings: Settings, store: EventStore,
                                                  workers: Workers) -> None:
    append_history(store, streams=40, renames=5)
    wait_until(lambda: caught_up_all(settings, store.head()), message="projections")
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        live = rows(conn)
        lines: list[str] = []
        rebuild(settings, store, "organizations", lines.append)
        assert rows(conn) == live
        assert any("swapping" in line for line in lines)
    ch = clickhouse.client(settings)
    query = "SELECT stream_id, version, event_type, payload FROM events FINAL ORDER BY 1, 2"
    live_events = ch.query(query).result_rows
    rebuild(settings, store, "clickhouse_events", lambda _line: None)
    assert ch.query(query).result_rows == live_events
    ch.close()
    more = append_history(store, streams=2, renames=1)
    wait_until(lambda: caught_up_all(settings, store.head()), message="after rebuild")
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        assert set(more) <= set(rows(conn)), "the live projector writes to the rebuilt table"
