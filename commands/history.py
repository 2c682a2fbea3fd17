"""Auditors' reads on the event store: a stream's history and its state as of a version or
time, folded by the stream's decider (organizations and resources use the same fold)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, NamedTuple, TypeVar
from uuid import UUID

from commands.ports import EventStore
from domain.decider import Decider
from domain.envelope import Envelope
from domain.organization import decider as org

S = TypeVar("S")


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
