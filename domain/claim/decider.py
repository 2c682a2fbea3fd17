"""Claim decider: like slugs, a deterministic stream per normalized value, so two claimants of
one value collide on one stream and the event store's version check picks one."""

from __future__ import annotations

import uuid
from typing import assert_never
from uuid import UUID

import msgspec

from domain.claim.events import ClaimEvent, ValueClaimed, ValueReleased
from domain.decider import Decider
from domain.errors import AlreadyExists, InvalidState

CLAIM_NAMESPACE = UUID("6f1c2f8e-3d5b-4d0e-9a57-1c0de5a1e002")
EMAIL = "email"
ROLE_NAME = "role_name"


def normalize_email(email: str) -> str:
    return email.strip().lower()


def email_stream_id(email: str) -> UUID:
    return uuid.uuid5(CLAIM_NAMESPACE, f"{EMAIL}:{normalize_email(email)}")


def role_name_stream_id(organization_id: UUID, name: str) -> UUID:
    return uuid.uuid5(CLAIM_NAMESPACE, f"{ROLE_NAME}:{organization_id}:{name.strip().lower()}")


class Claim(msgspec.Struct, frozen=True, kw_only=True):
    owner: UUID | None = None


INITIAL = Claim()


def evolve(state: Claim, event: ClaimEvent) -> Claim:
    match event:
        case ValueClaimed(owner_id=owner):
            return Claim(owner=owner)
        case ValueReleased():
            return Claim(owner=None)
        case _:
            return state


def claim(state: Claim, kind: str, value: str, owner_id: UUID) -> list[ClaimEvent]:
    if state.owner is not None and state.owner != owner_id:
        if kind == EMAIL:
            raise AlreadyExists("this email address is already registered", field="email",
                                code="email_taken")
        raise AlreadyExists("a role with this name already exists", field="name",
                            code="role_name_taken")
    if state.owner == owner_id:
        return []
    return [ValueClaimed(kind=kind, value=value, owner_id=owner_id)]


def release(state: Claim, kind: str, value: str, owner_id: UUID) -> list[ClaimEvent]:
    if state.owner != owner_id:
        raise InvalidState("the value is not held by this owner", code="claim_not_held")
    return [ValueReleased(kind=kind, value=value, owner_id=owner_id)]


class ClaimValue(msgspec.Struct, frozen=True, kw_only=True):
    kind: str
    value: str
    owner_id: UUID


class ReleaseValue(msgspec.Struct, frozen=True, kw_only=True):
    kind: str
    value: str
    owner_id: UUID


ClaimCommand = ClaimValue | ReleaseValue


def decide(command: ClaimCommand, state: Claim) -> list[ClaimEvent]:
    match command:
        case ClaimValue(kind=kind, value=value, owner_id=owner):
            return claim(state, kind, value, owner)
        case ReleaseValue(kind=kind, value=value, owner_id=owner):
            return release(state, kind, value, owner)
        case _:
            assert_never(command)


DECIDER = Decider("claim", INITIAL, evolve, decide)
