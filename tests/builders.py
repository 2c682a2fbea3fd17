"""Builders for test data: many organization streams appended straight to the store."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from uuid import UUID

from commands.runner import Context, StreamWrite, envelopes
from domain.envelope import Actor
from domain.organization import decider as org
from domain.organization.events import (
    OrganizationCreated,
    OrganizationEvent,
    OrganizationRenamed,
    OrganizationSettings,
)
from infra.eventstore import EventStore

TESTER = Actor(kind="system", id="tests")


def context(request_id: str = "test") -> Context:
    return Context(actor=TESTER, request_id=request_id)


def append_history(store: EventStore, *, streams: int, renames: int,
                   chunk: int = 50) -> dict[UUID, org.Organization]:
    """Append ``streams`` organizations with ``renames`` renames each; returns expected states."""
    expected: dict[UUID, org.Organization] = {}
    writes: list[StreamWrite] = []
    for i in range(streams):
        oid = uuid.uuid4()
        events: list[OrganizationEvent] = [OrganizationCreated(
            name=f"org {i}", slug=f"s-{oid.hex[:12]}", plan="free",
            settings=OrganizationSettings())]
        events += [OrganizationRenamed(name=f"org {i} v{r + 2}",
                                       previous_name=f"org {i} v{r + 1}")
                   for r in range(renames)]
        state = org.INITIAL
        for e in events:
            state = org.evolve(state, e)
        expected[oid] = state
        writes.append(StreamWrite(oid, "organization", oid, 0, events))
    ctx = Context(actor=TESTER, request_id="bulk", clock=lambda: datetime.now(UTC))
    batch = envelopes(ctx, writes)
    for start in range(0, len(batch), chunk):
        store.append(batch[start:start + chunk])
    return expected


def read_topic(bootstrap: str, topic: str, partitions: int) -> list[tuple[bytes, bytes, dict[str, bytes]]]:
    """Every message in ``topic`` from the beginning: (key, value, headers), per partition order."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"reader-{uuid.uuid4()}",
                         "enable.auto.commit": False, "enable.partition.eof": True})
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
    out: list[tuple[bytes, bytes, dict[str, bytes]]] = []
    at_end: set[int] = set()
    idle = 0
    while len(at_end) < partitions and idle < 50:
        msg = consumer.poll(0.2)
        if msg is None:
            idle += 1
            continue
        if msg.error():
            at_end.add(msg.partition() or 0)
            continue
        out.append((msg.key() or b"", msg.value() or b"", dict(msg.headers() or [])))
    consumer.close()
    return out


def deduplicated_versions(messages: list[tuple[bytes, bytes, dict[str, bytes]]],
                          ) -> dict[str, list[int]]:
    """Per stream, the versions a consumer keeps after dropping what it has already seen."""
    kept: dict[str, list[int]] = {}
    for key, _value, headers in messages:
        version = int(headers["stream-version"])
        seen = kept.setdefault(key.decode(), [])
        if not seen or version > seen[-1]:
            seen.append(version)
    return kept
