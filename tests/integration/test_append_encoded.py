"""An append given its events' bytes (the size check made them) stores those very bytes: each
event is encoded once on the way to PostgreSQL and, from there, to Kafka."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import psycopg

from commands.runner import Context, StreamWrite, check_sizes, envelopes
from domain.envelope import SYSTEM, decode
from domain.organization.events import OrganizationRenamed
from infra.eventstore import EVENTS_TABLE, EventStore
from infra.settings import Settings


def test_the_bytes_given_to_an_append_are_the_bytes_stored(settings: Settings,
                                                           store: EventStore) -> None:
    ctx = Context(actor=SYSTEM, request_id="r", clock=lambda: datetime(2026, 1, 1, tzinfo=UTC))
    batch = envelopes(ctx, [StreamWrite(uuid.uuid4(), "organization", uuid.uuid4(), 0, [
        OrganizationRenamed(name="a", previous_name=""),
        OrganizationRenamed(name="b", previous_name="a")])])
    # Trailing spaces: still the same JSON, but not what encoding the envelopes again makes.
    given = [data + b"  " for data in check_sizes(batch, store.max_event_bytes)]
    store.append(batch, encoded=given)
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        stored = [bytes(row[0]) for row in conn.execute(
            f"SELECT state FROM {EVENTS_TABLE} WHERE originator_id = %s"
            " ORDER BY originator_version", (batch[0].stream_id,)).fetchall()]
    assert stored == given
    assert [decode(data) for data in stored] == batch
