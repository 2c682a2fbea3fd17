"""Who wrote a resource and when: the envelopes' actor and time folded into its state beside
its events (``createdBy``, ``updatedBy``, ``createdAt``, ``updatedAt``, ``deletedAt``, as the
read model's row has them), so that a permission filter on them binds writes as on reads."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple

from msgspec.structs import replace

from domain.envelope import Actor, Envelope
from domain.resource.decider import Resource, evolve
from domain.resource.events import (
    ResourceArchived,
    ResourceCreated,
    ResourceDeleted,
    ResourceEvent,
    ResourcePatched,
    ResourceReplaced,
    ResourceRestored,
)


class Stamp(NamedTuple):
    """Who writes (``<kind>:<id>``) and when."""

    by: str
    at: datetime


def actor_text(actor: Actor) -> str:
    return f"{actor.kind}:{actor.id}"


def stamped(state: Resource, event: ResourceEvent, stamp: Stamp) -> Resource:
    """``evolve``, then who and when, as the read model's row function sets them."""
    after = evolve(state, event)
    by, at = stamp
    match event:
        case ResourceCreated():
            return replace(after, created_by=by, created_at=at, updated_by=by, updated_at=at,
                           deleted_at=None)
        case ResourceDeleted():
            return replace(after, updated_by=by, updated_at=at, deleted_at=at)
        case ResourceRestored():
            return replace(after, updated_by=by, updated_at=at, deleted_at=None)
        case ResourceReplaced() | ResourcePatched() | ResourceArchived():
            return replace(after, updated_by=by, updated_at=at)
        case _:
            return after


def folded(state: Resource, events: Iterable[ResourceEvent], stamp: Stamp) -> Resource:
    """The state ``events`` leave, all written by ``stamp`` (a write about to be appended)."""
    for event in events:
        state = stamped(state, event, stamp)
    return state


def replayed(envelopes: Iterable[Envelope]) -> tuple[Resource, int]:
    """A resource's stream folded with its stamps, and its version (0: no stream)."""
    state, version = Resource(), 0
    for e in envelopes:
        state = stamped(state, e.event, Stamp(actor_text(e.actor), e.occurred_at))  # type: ignore[arg-type]
        version = e.version
    return state, version
