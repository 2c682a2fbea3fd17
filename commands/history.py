"""Auditors' reads on the event store: a stream's history and its state as of a version or
time, folded by the stream's decider (organizations, resources and the auditors' replay of any
stream type of domain/deciders.py use the same fold)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, NamedTuple, TypeVar
from uuid import UUID

from commands.ports import EventStore
from domain.decider import Decider
from domain.deciders import DECIDERS
from domain.envelope import Envelope
from domain.organization import decider as org

S = TypeVar("S")
BY_TYPE: dict[str, Decider[Any, Any, Any]] = {d.stream_type: d for d in DECIDERS}


class AsOf(NamedTuple):
    state: org.Organization
    version: int
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


class Past(NamedTuple, Generic[S]):
    """A stream's state as it was, and the events it was folded from (oldest first)."""

    state: S
    envelopes: list[Envelope]

    @property
    def version(self) -> int:
        return self.envelopes[-1].version


class StreamAsOf(NamedTuple):
    stream_type: str
    organization_id: UUID
    state: Any  # the decider's state struct
    version: int
    created_at: datetime
    updated_at: datetime


def history(store: EventStore, stream_id: UUID) -> list[Envelope]:
    return store.load(stream_id)


def as_of(store: EventStore, decider: Decider[S, Any, Any], stream_id: UUID, *,
          version: int | None = None, at: datetime | None = None) -> Past[S] | None:
    """Fold the stream up to ``version`` or up to time ``at``; None if it did not exist then."""
    envelopes = store.load(stream_id, lte=version)
    if at is not None:
        envelopes = [e for e in envelopes if e.occurred_at <= at]
    if not envelopes:
        return None
    return Past(decider.fold(decider.initial, (e.event for e in envelopes)), envelopes)


def stream_as_of(store: EventStore, stream_id: UUID, *, version: int | None = None,
                 at: datetime | None = None) -> StreamAsOf | None:
    """Any stream folded with its own decider (found by the stream type of its first event) up
    to ``version`` or time ``at``; None if it did not exist then or its type has no decider."""
    first = store.load(stream_id, lte=1)
    decider = BY_TYPE.get(first[0].stream_type) if first else None
    past = as_of(store, decider, stream_id, version=version, at=at) if decider else None
    if past is None:
        return None
    start, last = past.envelopes[0], past.envelopes[-1]
    return StreamAsOf(start.stream_type, start.organization_id, past.state, past.version,
                      start.occurred_at, last.occurred_at)


def organization_as_of(store: EventStore, organization_id: UUID, *,
                       version: int | None = None, at: datetime | None = None) -> AsOf | None:
    past = as_of(store, org.DECIDER, organization_id, version=version, at=at)
    if past is None:
        return None
    deleted_at, state = None, org.DECIDER.initial
    for e in past.envelopes:
        state = org.DECIDER.evolve(state, e.event)  # type: ignore[arg-type]
        if state.status == "deleted" and deleted_at is None:
            deleted_at = e.occurred_at
    envelopes = past.envelopes
    return AsOf(past.state, past.version, envelopes[0].occurred_at, envelopes[-1].occurred_at,
                deleted_at)
