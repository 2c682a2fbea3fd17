"""Slug registry events."""

from __future__ import annotations

from uuid import UUID

import msgspec


class _Event(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    pass


class SlugClaimed(_Event, tag="slug.Claimed", frozen=True):
    slug: str
    organization_id: UUID


class SlugReleased(_Event, tag="slug.Released", frozen=True):
    slug: str
    organization_id: UUID


SlugEvent = SlugClaimed | SlugReleased
