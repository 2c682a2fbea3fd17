"""The API's readiness tells the truth about the pipeline: a stalled relay or projection is a 503."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import psycopg
import pytest
from litestar.testing import TestClient

from api.app import create_app
from commands.runner import Context, StreamWrite, envelopes
from domain.organization.events import OrganizationCreated, OrganizationSettings
from infra.eventstore import EventStore, datastore_from_url
from infra.projector.runner import Runner
from infra.relay import Relay
from infra.settings import Settings
from projections.registry import PROJECTIONS
from tests.builders import TESTER
from tests.conftest import wait_until

STALL_S = 3.0


@pytest.fixture
def quiet(isolated: Settings) -> Iterator[tuple[Settings, EventStore]]:
    """A private environment with no relay and no projector running."""
    own = msgspec.structs.replace(isolated, pipeline_stall_seconds=STALL_S)
    store = EventStore(datastore_from_url(own.database_url))
    yield own, store
    store.close()


def append_old_event(store: EventStore, age: timedelta) -> int:
    """An organization created ``age`` ago (by the envelope's clock), not yet relayed."""
    oid = uuid.uuid4()
    when = datetime.now(UTC) - age
    ctx = Context(actor=TESTER, request_id="stalled", clock=lambda: when)
    event = OrganizationCreated(name="Stalled", slug=f"st-{oid.hex[:12]}", plan="free",
                                settings=OrganizationSettings())
    return max(store.append(envelopes(ctx, [StreamWrite(oid, "organization", oid, 0, [event])])))


def readiness(client: TestClient[Any]) -> tuple[int, dict[str, Any]]:
    response = client.get("/health/ready")
    return response.status_code, response.json()


def test_an_idle_pipeline_with_nothing_waiting_is_healthy(
        quiet: tuple[Settings, EventStore]) -> None:
    settings, _store = quiet
    with TestClient(app=create_app(settings)) as client:
        status, body = readiness(client)
    assert status == 200, body
    assert body["details"]["pipeline"]["status"] == "healthy"
    assert {s["name"] for s in body["pipeline"]} == {"relay", *PROJECTIONS}


def test_an_event_waiting_longer_than_the_stall_time_makes_the_api_unready_until_it_is_passed(
        quiet: tuple[Settings, EventStore]) -> None:
    settings, store = quiet
    position = append_old_event(store, timedelta(seconds=STALL_S * 2))
    relay = Relay(settings, store)
    runners = [Runner(settings, spec.build(settings)) for spec in PROJECTIONS.values()]
    threads = [threading.Thread(target=w.run, daemon=True) for w in (relay, *runners)]
    with TestClient(app=create_app(settings)) as client:
        status, body = readiness(client)
        assert status == 503, body
        assert body["status"] == "unhealthy"
        stages = {s["name"]: s for s in body["pipeline"]}
        assert stages["relay"]["status"] == "unhealthy"
        assert stages["relay"]["lag"] >= 1
        assert stages["relay"]["waitingSeconds"] >= STALL_S
        assert "relay has not passed position" in body["details"]["pipeline"]["errorMessage"]
        assert stages["organizations"]["status"] == "unhealthy"
        try:
            for t in threads:
                t.start()
            wait_until(lambda: readiness(client)[0] == 200, timeout=60,
                       message="the pipeline to pass the stalled event")
        finally:
            relay.stop()
            for r in runners:
                r.stop()
            for t in threads:
                t.join(timeout=30)
        _status, body = readiness(client)
        assert all(s["position"] >= position for s in body["pipeline"]), body["pipeline"]


def test_an_event_waiting_a_little_is_degraded_but_still_ready(
        quiet: tuple[Settings, EventStore]) -> None:
    settings, store = quiet
    with TestClient(app=create_app(settings)) as client:
        # Once the app is up: a loaded machine can take longer to start it than the event's age.
        append_old_event(store, timedelta(seconds=STALL_S / 2))
        status, body = readiness(client)
    assert status == 200, body
    assert body["status"] == "degraded"
    assert body["details"]["pipeline"]["status"] == "degraded"


def test_parked_events_make_the_pipeline_degraded_and_are_counted_per_projection(
        quiet: tuple[Settings, EventStore]) -> None:
    settings, _store = quiet
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO projection_dead_letters (projection, topic, partition, kafka_offset,"
            " position, stream_id, version, event_type, payload, error, attempts)"
            " VALUES ('organizations', 't', 0, 7, 7, 's', 1, 'organization.Created', '', 'boom', 6)")
    with TestClient(app=create_app(settings)) as client:
        status, body = readiness(client)
    assert status == 200, body
    assert body["status"] == "degraded"
    stages = {s["name"]: s for s in body["pipeline"]}
    assert (stages["organizations"]["parked"], stages["organizations"]["status"]) == (1, "degraded")
    assert stages["users"]["parked"] == 0
    assert "organizations has parked 1 event(s)" in body["details"]["pipeline"]["errorMessage"]
