"""The webhook fan-out on a real database: an event is queued once per matching active
endpoint, also when the endpoint's registration reaches the fan-out after the event (topics
are consumed independently), and a redelivered batch queues nothing twice."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest

from commands.organizations import OrganizationCommands
from domain.deciders import AGGREGATES
from domain.organization.commands import CreateOrganization, RenameOrganization
from domain.webhook_endpoint.commands import RegisterEndpoint
from infra.eventstore import EventStore, datastore_from_url
from infra.settings import Settings
from infra.webhooks.wiring import webhook_commands
from projections.base import Item
from projections.webhook_fanout import FanOut
from tests.builders import context


@pytest.fixture
def own_store(isolated: Settings) -> Iterator[EventStore]:
    store = EventStore(datastore_from_url(isolated.database_url, pool_size=1))
    yield store
    store.close()


def queued(conn: psycopg.Connection, endpoint: uuid.UUID) -> list[tuple[str, int]]:
    return [(r[0], r[1]) for r in conn.execute(
        "SELECT event_type, stream_version FROM webhook_deliveries WHERE endpoint_id = %s"
        " ORDER BY position", (endpoint,)).fetchall()]


def test_events_are_queued_for_a_registration_that_arrives_after_them(
        isolated: Settings, own_store: EventStore) -> None:
    orgs = OrganizationCommands(own_store)
    org = orgs.create(context(), CreateOrganization(name="Fan", slug="fan-out")).stream_id
    hook = webhook_commands(isolated, own_store).register(context(), RegisterEndpoint(
        organization_id=org, url="https://93.184.216.34/in", event_types=("organization.*",),
        sealed_secret="")).result.stream_id
    orgs.handle(context(), org, RenameOrganization(name="Fanned"))
    orgs.handle(context(), org, RenameOrganization(name="Fanned again"))
    stored = [Item(r.position, r.envelope) for r in own_store.read(0, 100)]
    registration = next(i for i in stored if i.envelope.stream_id == hook)
    renames = [i for i in stored if i.envelope.event_type == "organization.Renamed"]
    fan = FanOut(AGGREGATES)
    expected = [("organization.Renamed", 2), ("organization.Renamed", 3)]
    with psycopg.connect(isolated.database_url, autocommit=True) as conn:
        with conn.transaction(), conn.cursor() as cur:
            fan.apply(cur, renames[:1])  # before the endpoint exists for the fan-out
            fan.apply(cur, [registration])  # catches up from its own position: both renames
        assert queued(conn, hook) == expected
        with conn.transaction(), conn.cursor() as cur:
            fan.apply(cur, renames[1:])  # live, already queued by the catch-up
            fan.apply(cur, stored)  # the whole batch redelivered
        assert queued(conn, hook) == expected
