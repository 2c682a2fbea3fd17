"""Commands on the real event store: concurrency, atomic multi-stream appends, retries."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from commands.organizations import OrganizationCommands
from commands.ports import ConcurrencyError
from commands.runner import TooMuchContention, VersionConflict
from domain.errors import SlugTaken
from domain.organization.commands import (
    ChangePlan,
    CreateOrganization,
    DeleteOrganization,
    RenameOrganization,
)
from domain.slug.decider import slug_stream_id
from infra.eventstore import SMALL_APPEND, EventStore
from tests.builders import context


def new_org(commands: OrganizationCommands) -> uuid.UUID:
    result = commands.create(context(), CreateOrganization(
        name="Concurrent", slug=f"c-{uuid.uuid4().hex[:10]}"))
    return result.stream_id


def test_concurrent_writers_to_one_stream_lose_no_update(store: EventStore) -> None:
    commands = OrganizationCommands(store, retries=50)
    oid = new_org(commands)
    names = [f"name {i}" for i in range(40)]

    def rename(name: str) -> int:
        return commands.handle(context(), oid, RenameOrganization(name=name)).version

    with ThreadPoolExecutor(max_workers=8) as pool:
        versions = list(pool.map(rename, names))
    history = store.load(oid)
    assert sorted(versions) == list(range(2, 42)), "every writer got its own version"
    assert [e.version for e in history] == list(range(1, 42))
    assert sorted(e.event.name for e in history[1:]) == sorted(names)  # type: ignore[union-attr]


def test_writers_pinned_to_one_version_all_but_one_get_a_conflict(store: EventStore) -> None:
    commands = OrganizationCommands(store)
    oid = new_org(commands)

    def rename(i: int) -> str:
        try:
            commands.handle(context(), oid, RenameOrganization(name=f"pinned {i}"),
                            expected_version=1)
        except VersionConflict:
            return "conflict"
        return "ok"

    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = list(pool.map(rename, range(12)))
    assert outcomes.count("ok") == 1
    assert len(store.load(oid)) == 2


def test_a_stale_expected_version_is_rejected_before_deciding(store: EventStore) -> None:
    commands = OrganizationCommands(store)
    oid = new_org(commands)
    commands.handle(context(), oid, ChangePlan(plan="starter"))
    with pytest.raises(VersionConflict):
        commands.handle(context(), oid, ChangePlan(plan="enterprise"), expected_version=1)
    assert store.load(oid)[-1].version == 2


def test_racing_creators_of_one_slug_leave_exactly_one_organization(store: EventStore) -> None:
    commands = OrganizationCommands(store, retries=10)
    slug = f"race-{uuid.uuid4().hex[:8]}"

    def create(i: int) -> uuid.UUID | None:
        try:
            return commands.create(context(), CreateOrganization(name=f"r{i}", slug=slug)
                                   ).stream_id
        except SlugTaken:
            return None

    with ThreadPoolExecutor(max_workers=6) as pool:
        created = [c for c in pool.map(create, range(12)) if c]
    assert len(created) == 1
    claims = store.load(slug_stream_id(slug))
    assert [e.event.organization_id for e in claims] == created  # type: ignore[union-attr]


def test_deleting_an_organization_releases_its_slug_in_the_same_append(
        store: EventStore) -> None:
    commands = OrganizationCommands(store)
    slug = f"del-{uuid.uuid4().hex[:8]}"
    first = commands.create(context(), CreateOrganization(name="a", slug=slug)).stream_id
    result = commands.handle(context(), first, DeleteOrganization())
    slug_events = store.load(slug_stream_id(slug))
    assert [e.event_type for e in slug_events] == ["slug.Claimed", "slug.Released"]
    assert result.position == store.read(result.position - 1, 1)[0].position
    second = commands.create(context(), CreateOrganization(name="b", slug=slug)).stream_id
    assert second != first


def test_retries_run_out_under_endless_contention(store: EventStore) -> None:
    commands = OrganizationCommands(store, retries=0)
    oid = new_org(commands)
    real_append = store.append

    def append_after_a_rival(batch, **kwargs):  # type: ignore[no-untyped-def]
        commands_rival = OrganizationCommands(store)
        store.append = real_append  # type: ignore[method-assign]
        commands_rival.handle(context(), oid, RenameOrganization(name=f"rival {uuid.uuid4()}"))
        store.append = append_after_a_rival  # type: ignore[method-assign]
        return real_append(batch, **kwargs)

    store.append = append_after_a_rival  # type: ignore[method-assign]
    try:
        with pytest.raises(TooMuchContention):
            commands.handle(context(), oid, RenameOrganization(name="mine"))
    finally:
        store.append = real_append  # type: ignore[method-assign]


@pytest.mark.parametrize("count", [1, SMALL_APPEND, SMALL_APPEND + 1])
def test_an_append_of_any_size_stores_every_event_in_order_and_refuses_a_taken_version(
        store: EventStore, count: int) -> None:
    commands = OrganizationCommands(store)
    oid = new_org(commands)
    renames = [RenameOrganization(name=f"name {i}") for i in range(count)]
    result = commands.handle(context(), oid, lambda _state: renames)
    events = store.load(oid)
    assert [e.version for e in events] == list(range(1, count + 2))
    assert [e.event.name for e in events[1:]] == [r.name for r in renames]  # type: ignore[attr-defined]
    assert result.version == count + 1
    with pytest.raises(ConcurrencyError):
        store.append(events[-count:])
    assert len(store.load(oid)) == count + 1
