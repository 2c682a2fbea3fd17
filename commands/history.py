"""Auditors' reads on the event store: a stream's history and its state as of a version or time,
folded with its own decider (any stream type of domain/deciders.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple
from uuid import UUID

from commands.ports import EventStore
from domain.decider import Decider
from domain.deciders import DECIDERS
from domain.envelope import Envelope
from domain.organization import decider as org

BY_TYPE: dict[str, Decider[Any, Any, Any]] = {d.stream_type: d for d in DECIDERS}


class AsOf(NamedTuple):
    state: org.Organization
    version: int
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


class StreamAsOf(NamedTuple):
    stream_type: str
    organization_id: UUID
    state: Any  # the decider's state struct
    version: int
    created_at: datetime
    updated_at: datetime


def history(store: EventStore, stream_id: UUID) -> list[Envelope]:
    return store.load(stream_id)


def _until(store: EventStore, stream_id: UUID, version: int | None,
           at: datetime | None) -> list[Envelope]:
    envelopes = store.load(stream_id, lte=version)
    return envelopes if at is None else [e for e in envelopes if e.occurred_at <= at]


def stream_as_of(store: EventStore, stream_id: UUID, *, version: int | None = None,
                 at: datetime | None = None) -> StreamAsOf | None:
    """Any stream folded with its decider up to ``version`` or time ``at``; None if it did not
    exist then (or its stream type has no decider)."""
    envelopes = _until(store, stream_id, version, at)
    decider = BY_TYPE.get(envelopes[0].stream_type) if envelopes else None
    if decider is None:
        return None
    first, last = envelopes[0], envelopes[-1]
    return StreamAsOf(first.stream_type, first.organization_id,
                      decider.fold(decider.initial, (e.event for e in envelopes)),
                      last.version, first.occurred_at, last.occurred_at)


def organization_as_of(store: EventStore, organization_id: UUID, *,
                       version: int | None = None, at: datetime | None = None) -> AsOf | None:
    """Fold the stream up to ``version`` or up to time ``at``; None if it did not exist then."""
    envelopes = _until(store, organization_id, version, at)
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
