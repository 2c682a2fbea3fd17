"""Idempotency sealing on the in-memory store: the response is recorded with the events, and a
key already recorded writes nothing more, whatever the body (the API then replays or refuses)."""

from __future__ import annotations

import msgspec
import pytest

from commands.idempotency import Claim, Rendered
from commands.organizations import OrganizationCommands
from commands.ports import DuplicateRecord
from commands.runner import Result, Seal
from domain.organization.commands import CreateOrganization, RenameOrganization
from infra.idempotency import fingerprint
from tests.builders import context
from tests.usecases.conftest import RacingStore, new_org

BODY = b'{"name": "Acme", "slug": "acme"}'


def claim(body: bytes, key: str = "key-1") -> Claim:
    return Claim("operator:tests", key, fingerprint("POST", "/v1/organizations", body))


def render(result: Result) -> Rendered:
    return Rendered(201, msgspec.json.encode(result._asdict()), {"ETag": f'"{result.version}"'})


def create(organizations: OrganizationCommands, sealed: Claim, slug: str = "acme") -> Result:
    return organizations.create(context(), CreateOrganization(name="Acme", slug=slug),
                                seal=Seal(sealed, render))


def test_the_response_is_recorded_with_the_events_it_answers(
        store: RacingStore, organizations: OrganizationCommands) -> None:
    result = create(organizations, claim(BODY))
    saved = store.saved(claim(BODY))
    assert saved is not None
    assert (saved.status, saved.headers) == (201, {"ETag": '"1"'})
    assert msgspec.json.decode(saved.body) == msgspec.json.decode(
        msgspec.json.encode(result._asdict()))
    assert result.position == len(store.log)


def test_the_same_key_and_body_again_appends_nothing_and_finds_the_first_response(
        store: RacingStore, organizations: OrganizationCommands) -> None:
    first = create(organizations, claim(BODY))
    before = len(store.log)
    with pytest.raises(DuplicateRecord):
        create(organizations, claim(b'{"slug": "acme", "name": "Acme"}'), slug="other")
    assert len(store.log) == before
    saved = store.saved(claim(BODY))
    assert saved is not None
    assert saved.fingerprint == claim(b'{"slug":"acme","name":"Acme"}').fingerprint
    assert msgspec.json.decode(saved.body)["stream_id"] == str(first.stream_id)


def test_the_same_key_with_another_body_appends_nothing_and_is_told_apart(
        store: RacingStore, organizations: OrganizationCommands) -> None:
    create(organizations, claim(BODY))
    before = len(store.log)
    other = claim(b'{"name": "Other", "slug": "other"}')
    with pytest.raises(DuplicateRecord):
        create(organizations, other, slug="other")
    assert len(store.log) == before
    saved = store.saved(other)
    assert saved is not None
    assert saved.fingerprint != other.fingerprint


def test_a_command_that_changes_nothing_still_records_its_response(
        store: RacingStore, organizations: OrganizationCommands) -> None:
    org_id = new_org(organizations)
    before = len(store.log)
    rename = claim(b'{"name": "Acme"}', key="rename")
    result = organizations.handle(context(), org_id, RenameOrganization(name="Acme"),
                                  seal=Seal(rename, render))
    assert (len(store.log), result.position) == (before, None)
    saved = store.saved(rename)
    assert saved is not None
    assert saved.status == 201
