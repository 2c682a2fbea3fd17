"""Slug decider: claim a free slug, release it when its organization is deleted."""

from __future__ import annotations

import uuid
from typing import assert_never
from uuid import UUID

import msgspec

from domain.decider import Decider
from domain.errors import InvalidState, SlugTaken
from domain.slug.events import SlugClaimed, SlugEvent, SlugReleased

# Slug streams have deterministic ids, so two creators of one slug collide on one stream.
SLUG_NAMESPACE = UUID("6f1c2f8e-3d5b-4d0e-9a57-1c0de5a1e001")


def slug_stream_id(slug: str) -> UUID:
    return uuid.uuid5(SLUG_NAMESPACE, slug)


class Slug(msgspec.Struct, frozen=True, kw_only=True):
    owner: UUID | None = None


INITIAL = Slug()


def evolve(state: Slug, event: SlugEvent) -> Slug:
    match event:
        case SlugClaimed(organization_id=owner):
            return Slug(owner=owner)
        case SlugReleased():
            return Slug(owner=None)
        case _:
            return state


def claim(state: Slug, slug: str, organization_id: UUID) -> list[SlugEvent]:
    if state.owner is not None and state.owner != organization_id:
        raise SlugTaken(f"slug {slug!r} is already taken", field="slug", params={"slug": slug})
    if state.owner == organization_id:
        return []
    return [SlugClaimed(slug=slug, organization_id=organization_id)]


def release(state: Slug, slug: str, organization_id: UUID) -> list[SlugEvent]:
    if state.owner != organization_id:
        raise InvalidState(f"slug {slug!r} is not held by this organization", code="slug_not_held",
                           params={"slug": slug})
    return [SlugReleased(slug=slug, organization_id=organization_id)]


class ClaimSlug(msgspec.Struct, frozen=True, kw_only=True):
    slug: str
    organization_id: UUID


class ReleaseSlug(msgspec.Struct, frozen=True, kw_only=True):
    slug: str
    organization_id: UUID


SlugCommand = ClaimSlug | ReleaseSlug


def decide(command: SlugCommand, state: Slug) -> list[SlugEvent]:
    match command:
        case ClaimSlug(slug=name, organization_id=owner):
            return claim(state, name, owner)
        case ReleaseSlug(slug=name, organization_id=owner):
            return release(state, name, owner)
        case _:
            assert_never(command)


DECIDER = Decider("slug", INITIAL, evolve, decide)
