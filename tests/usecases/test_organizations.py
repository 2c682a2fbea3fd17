"""Organization use cases on the in-memory store: the slug race and the version-conflict retry."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

import pytest

from commands.organizations import OrganizationCommands
from commands.runner import TooMuchContention, VersionConflict
from domain.errors import SlugTaken
from domain.organization.commands import CreateOrganization, DeleteOrganization, RenameOrganization
from domain.slug.decider import slug_stream_id
from tests.builders import context
from tests.usecases.conftest import RacingStore, new_org


def test_two_organizations_claiming_one_slug_at_once_leave_one_owner(
        store: RacingStore, organizations: OrganizationCommands) -> None:
    rival: list[object] = []
    store.rivals.append(lambda: rival.append(new_org(organizations, "shared")))
    with pytest.raises(SlugTaken):
        organizations.create(context(), CreateOrganization(name="Late", slug="shared"))
    [claimed] = store.load(slug_stream_id("shared"))
    assert claimed.organization_id == rival[0]
    assert len(store.log) == 2  # the rival's organization and its slug; nothing of the loser


def test_a_slug_is_free_again_once_its_organization_is_deleted(
        organizations: OrganizationCommands) -> None:
    first = new_org(organizations, "reused")
    organizations.handle(context(), first, DeleteOrganization())
    second = new_org(organizations, "reused")
    assert second != first


def test_a_command_that_lost_a_race_is_retried_on_the_new_version(
        store: RacingStore, organizations: OrganizationCommands) -> None:
    org_id = new_org(organizations)
    store.rivals.append(lambda: organizations.handle(context(), org_id,
                                                     RenameOrganization(name="Rival")))
    result = organizations.handle(context(), org_id, RenameOrganization(name="Mine"))
    assert result.version == 3
    assert [e.version for e in store.load(org_id)] == [1, 2, 3]


def test_a_pinned_version_is_not_retried_and_answers_a_conflict(
        store: RacingStore, organizations: OrganizationCommands) -> None:
    org_id = new_org(organizations)
    store.rivals.append(lambda: organizations.handle(context(), org_id,
                                                     RenameOrganization(name="Rival")))
    with pytest.raises(VersionConflict):
        organizations.handle(context(), org_id, RenameOrganization(name="Mine"),
                             expected_version=1)
    with pytest.raises(VersionConflict):
        organizations.handle(context(), org_id, RenameOrganization(name="Mine"),
                             expected_version=1)


def test_retries_run_out_when_other_writers_keep_winning(
        store: RacingStore, organizations: OrganizationCommands) -> None:
    org_id = new_org(organizations)
    def rival(i: int) -> Callable[[], object]:
        return lambda: organizations.handle(context(), org_id,
                                            RenameOrganization(name=f"Rival {i}"))

    store.rivals += [rival(i) for i in range(organizations.retries + 1)]
    with pytest.raises(TooMuchContention):
        organizations.handle(context(), org_id, RenameOrganization(name="Mine"))
    names = [getattr(e.event, "name", None) for e in store.load(org_id)]
    assert names == ["Acme", *(f"Rival {i}" for i in range(organizations.retries + 1))]


def test_a_fresh_slug_is_claimed_without_loading_a_stream_and_a_reused_one_after_a_load(
        store: RacingStore, organizations: OrganizationCommands,
        monkeypatch: pytest.MonkeyPatch) -> None:
    loads: list[object] = []
    real = store.load

    def counted(stream_id: UUID) -> Any:
        loads.append(stream_id)
        return real(stream_id)

    monkeypatch.setattr(store, "load", counted)
    first = new_org(organizations, "reused")
    assert loads == []  # the create is one append: its id and its slug are presumed new
    organizations.handle(context(), first, DeleteOrganization())
    loads.clear()
    second = new_org(organizations, "reused")
    # The presumed-new claim conflicted with the released slug's stream: the retry loaded it.
    assert loads == [slug_stream_id("reused")]
    assert [e.organization_id for e in store.load(slug_stream_id("reused"))][-1] == second
