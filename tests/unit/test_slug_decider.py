"""Specs for the slug registry: one owner per slug, claimed on create, released on delete."""

from __future__ import annotations

from uuid import UUID

import pytest

from domain.errors import InvalidState, SlugTaken
from domain.organization.events import OrganizationDeleted
from domain.slug.decider import (
    DECIDER,
    INITIAL,
    ClaimSlug,
    ReleaseSlug,
    Slug,
    claim,
    evolve,
    release,
    slug_stream_id,
)
from domain.slug.events import SlugClaimed, SlugEvent, SlugReleased
from tests.unit.spec import Specification

ACME = UUID("00000000-0000-4000-8000-00000000000a")
OTHER = UUID("00000000-0000-4000-8000-00000000000b")


def held(*events: SlugEvent) -> Slug:
    return Specification(DECIDER).given(*events).state


def test_a_free_slug_is_claimed_by_the_organization() -> None:
    assert claim(INITIAL, "acme", ACME) == [SlugClaimed(slug="acme", organization_id=ACME)]
    assert held(SlugClaimed(slug="acme", organization_id=ACME)).owner == ACME


def test_a_slug_held_by_another_organization_cannot_be_claimed() -> None:
    state = held(SlugClaimed(slug="acme", organization_id=ACME))
    with pytest.raises(SlugTaken) as caught:
        claim(state, "acme", OTHER)
    assert caught.value.field == "slug"


def test_claiming_again_by_the_owner_produces_no_event() -> None:
    assert claim(held(SlugClaimed(slug="acme", organization_id=ACME)), "acme", ACME) == []


def test_the_owner_releases_its_slug() -> None:
    state = held(SlugClaimed(slug="acme", organization_id=ACME))
    assert release(state, "acme", ACME) == [SlugReleased(slug="acme", organization_id=ACME)]
    assert held(SlugClaimed(slug="acme", organization_id=ACME),
                SlugReleased(slug="acme", organization_id=ACME)).owner is None


def test_a_slug_cannot_be_released_by_an_organization_that_does_not_hold_it() -> None:
    with pytest.raises(InvalidState):
        release(held(SlugClaimed(slug="acme", organization_id=ACME)), "acme", OTHER)


def test_a_free_slug_cannot_be_released() -> None:
    with pytest.raises(InvalidState):
        release(INITIAL, "acme", ACME)


def test_a_released_slug_can_be_claimed_by_another_organization() -> None:
    state = held(SlugClaimed(slug="acme", organization_id=ACME),
                 SlugReleased(slug="acme", organization_id=ACME))
    assert claim(state, "acme", OTHER) == [SlugClaimed(slug="acme", organization_id=OTHER)]


def test_the_stream_id_of_a_slug_is_the_same_every_time() -> None:
    assert slug_stream_id("acme") == slug_stream_id("acme")
    assert slug_stream_id("acme").version == 5


def test_different_slugs_have_different_stream_ids() -> None:
    assert slug_stream_id("acme") != slug_stream_id("acme-co")


def test_the_stream_id_of_a_slug_never_changes_across_releases() -> None:
    # Pinned: a new namespace would orphan every slug stream already stored.
    assert slug_stream_id("acme") == UUID("78d3a00f-bffb-5737-8d03-43faa641dede")


def test_evolve_ignores_events_it_does_not_know() -> None:
    state = held(SlugClaimed(slug="acme", organization_id=ACME))
    assert evolve(state, OrganizationDeleted(slug="acme")) is state  # type: ignore[arg-type]


def test_the_slug_decider_claims_and_releases_through_its_commands() -> None:
    slugs = Specification(DECIDER)
    claimed = SlugClaimed(slug="acme", organization_id=ACME)
    slugs.given().when(ClaimSlug(slug="acme", organization_id=ACME)).then(claimed)
    slugs.given(claimed).when(ClaimSlug(slug="acme", organization_id=OTHER)).then_raises(
        SlugTaken, field="slug")
    slugs.given(claimed).when(ReleaseSlug(slug="acme", organization_id=ACME)).then(
        SlugReleased(slug="acme", organization_id=ACME))
