"""Roster events: who the organization's active owners are, tagged ``roster.<Name>``."""

from __future__ import annotations

from uuid import UUID

import msgspec


class _Event(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    pass


class OwnerAdded(_Event, tag="roster.OwnerAdded", frozen=True):
    user_id: UUID


class OwnerRemoved(_Event, tag="roster.OwnerRemoved", frozen=True):
    user_id: UUID


RosterEvent = OwnerAdded | OwnerRemoved
