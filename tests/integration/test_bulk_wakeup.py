"""The bulk worker starts an operation from the event store's notification, before any read
model has it: with no relay and no projector running, a submission is still applied."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import msgspec
import psycopg
import pytest

from commands.bulk import BulkCommands
from commands.organizations import OrganizationCommands
from commands.resource_types import ResourceTypeCommands
from domain.bulk_operation.events import BulkOperationFinished
from domain.resource.commands import Content
from domain.resource.writes import ResourceWrite
from domain.resource_type.commands import RegisterResourceType
from infra.bulk import BulkWorker
from infra.eventstore import EventStore, datastore_from_url
from infra.jsonschemas import JsonSchemas
from infra.settings import Settings
from tests.builders import context
from tests.conftest import wait_until
from tests.usecases.conftest import new_org

SCHEMA: dict[str, Any] = {"type": "object", "properties": {"n": {"type": "integer"}}}


@pytest.fixture
def alone(isolated: Settings) -> Iterator[EventStore]:
    """A store of its own, which no relay or projector reads."""
    store = EventStore(datastore_from_url(isolated.database_url, pool_size=2, max_overflow=2))
    yield store
    store.close()


def test_a_submission_is_applied_though_no_read_model_has_it(isolated: Settings,
                                                              alone: EventStore) -> None:
    schemas = JsonSchemas()
    org = new_org(OrganizationCommands(alone, retries=3))
    ResourceTypeCommands(alone, schemas).register(context(), RegisterResourceType(
        organization_id=org, name="bees", schema=SCHEMA))
    # A long idle poll: only the store's notification can wake the worker within the wait.
    worker = BulkWorker(msgspec.structs.replace(isolated, bulk_idle_poll_ms=600_000),
                        BulkCommands(alone, schemas))
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        wait_until(lambda: worker.seen >= 0, message="the worker's first look")
        ops = BulkCommands(alone, schemas)
        submitted = ops.submit(context(), org, [ResourceWrite(
            op="create", resource_type="bees", content=Content(data={"n": i}))
            for i in range(3)])
        wait_until(lambda: any(isinstance(e.event, BulkOperationFinished)
                               for e in alone.load(submitted.stream_id)),
                   timeout=20, message="the operation applied")
    finally:
        worker.stop()
        thread.join(timeout=30)
    with psycopg.connect(isolated.database_url, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM bulk_operations").fetchone()
    assert row == (0,)  # no read model knew of it: the store's notification woke the worker
