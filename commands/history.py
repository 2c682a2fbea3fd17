"""Auditors' reads on the event store: a stream's history and its state as of a version or time."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple
from uuid import UUID

from commands.ports import EventStore
from domain.envelope import Envelope
from domain.organization import decider as org


class AsOf(NamedTuple):
    state: org.Organization
    version: int
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


def history(store: EventStore, stream_id: UUID) -> list[Envelope]:
    return store.load(stream_id)


def organization_as_of(store: EventStore, organization_id: UUID, *,
                       version: int | None = None, at: datetime | None = None) -> AsOf | None:
    """Fold the stream up to ``version`` or up to time ``at``; None if it did not exist then."""
    envelopes = store.load(organization_id, lte=version)
    if at is not None:
        envelopes = [e for e in envelopes if e.occurred_at <= at]
    if not envelopes:
        return None
    state = org.DECIDER.initial
    deleted_at = None
    for e in envelopes:
        state = org.DECIDER.evolve(state, e.event)  # type: ignore[arg-type]
        if state.status == "deleted" and deleted_at is None:
            deleted_at = e.occurred_at
    return AsOf(state, envelopes[-1].version, envelopes[0].occurred_at,
                envelopes[-1].occurred_at, deleted_at)
