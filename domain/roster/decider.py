"""Roster decider: an organization keeps at least one active owner.

Every change that makes a user an active owner, or stops one being one (demotion,
suspension, removal), appends to this stream in the same atomic write as the user's own
events, so two admins demoting the last two owners at once cannot both succeed.
"""

from __future__ import annotations

import uuid
from typing import assert_never
from uuid import UUID

import msgspec

from domain.decider import Decider
from domain.errors import InvalidState
from domain.roster.events import OwnerAdded, OwnerRemoved, RosterEvent

ROSTER_NAMESPACE = UUID("6f1c2f8e-3d5b-4d0e-9a57-1c0de5a1e003")


def roster_stream_id(organization_id: UUID) -> UUID:
    return uuid.uuid5(ROSTER_NAMESPACE, str(organization_id))


class Roster(msgspec.Struct, frozen=True, kw_only=True):
    owners: frozenset[UUID] = frozenset()


INITIAL = Roster()


def evolve(state: Roster, event: RosterEvent) -> Roster:
    match event:
        case OwnerAdded(user_id=user_id):
            return Roster(owners=state.owners | {user_id})
        case OwnerRemoved(user_id=user_id):
            return Roster(owners=state.owners - {user_id})
        case _:
            return state


def add(state: Roster, user_id: UUID) -> list[RosterEvent]:
    return [] if user_id in state.owners else [OwnerAdded(user_id=user_id)]


def remove(state: Roster, user_id: UUID) -> list[RosterEvent]:
    if user_id not in state.owners:
        return []
    if state.owners == {user_id}:
        raise InvalidState("the organization's last owner cannot be removed, suspended or "
                           "demoted", code="last_owner")
    return [OwnerRemoved(user_id=user_id)]


class AddOwner(msgspec.Struct, frozen=True, kw_only=True):
    user_id: UUID


class RemoveOwner(msgspec.Struct, frozen=True, kw_only=True):
    user_id: UUID


RosterCommand = AddOwner | RemoveOwner


def decide(command: RosterCommand, state: Roster) -> list[RosterEvent]:
    match command:
        case AddOwner(user_id=user_id):
            return add(state, user_id)
        case RemoveOwner(user_id=user_id):
            return remove(state, user_id)
        case _:
            assert_never(command)


DECIDER = Decider("roster", INITIAL, evolve, decide)
