"""Claim events: a value (an email, a role name) held by one owner, tagged ``claim.<Name>``."""

from __future__ import annotations

from uuid import UUID

import msgspec


class _Event(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    pass


class ValueClaimed(_Event, tag="claim.Claimed", frozen=True):
    kind: str  # "email", "role_name"
    value: str
    owner_id: UUID


class ValueReleased(_Event, tag="claim.Released", frozen=True):
    kind: str
    value: str
    owner_id: UUID


ClaimEvent = ValueClaimed | ValueReleased
