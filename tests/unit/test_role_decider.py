"""Custom roles, system roles, effective permissions, escalation, claims and the owner roster."""

from __future__ import annotations

import uuid

import pytest

from api.platform.i18n import CATALOG, placeholders, render
from domain.claim import decider as claim
from domain.claim.events import ValueClaimed, ValueReleased
from domain.errors import AlreadyExists, DomainError, InvalidState, InvalidValue, NotFound
from domain.permissions import ApiPermission, covers
from domain.role import decider as role
from domain.role.events import RoleCreated, RoleDeleted, RoleUpdated
from domain.role.system import SYSTEM_ROLES, effective_permissions
from domain.roster import decider as roster
from domain.roster.events import OwnerAdded, OwnerRemoved
from tests.unit.spec import Specification

ORG, A, B = uuid.UUID(int=1), uuid.UUID(int=2), uuid.UUID(int=3)
READ_LOGS = ApiPermission(resource="logs", actions=("read",))
WRITE_USERS = ApiPermission(resource="users", actions=("create", "update"))
CREATED = RoleCreated(organization_id=ORG, name="Support", description="",
                      permissions=(READ_LOGS,))
ROLES = Specification(role.DECIDER)
ACTIVE = ROLES.given(CREATED).state


def test_creating_a_role_records_its_trimmed_name_and_permissions() -> None:
    events = role.decide(role.CreateRole(organization_id=ORG, name=" Support ",
                                         permissions=(READ_LOGS,)), role.INITIAL)
    assert events == [CREATED]


def test_updating_records_the_whole_new_role_and_nothing_when_unchanged() -> None:
    assert role.decide(role.UpdateRole(name="Support"), ACTIVE) == []
    assert role.decide(role.UpdateRole(permissions=(WRITE_USERS,)), ACTIVE) == [
        RoleUpdated(name="Support", description="", permissions=(WRITE_USERS,))]
    assert role.decide(role.DeleteRole(), ACTIVE) == [RoleDeleted(name="Support")]


DELETED = ROLES.given(CREATED, RoleDeleted(name="Support")).state


ROLE_REJECTIONS = [
    (role.CreateRole(organization_id=ORG, name="x"), ACTIVE, AlreadyExists, "role_exists"),
    (role.CreateRole(organization_id=ORG, name=" "), role.INITIAL, InvalidValue,
     "role_name_invalid"),
    (role.CreateRole(organization_id=ORG, name="n" * 101), role.INITIAL, InvalidValue,
     "role_name_invalid"),
    (role.CreateRole(organization_id=ORG, name="Admin"), role.INITIAL, InvalidValue,
     "role_name_reserved"),
    (role.CreateRole(organization_id=ORG, name="x", description="d" * 1001), role.INITIAL,
     InvalidValue, "role_description_too_long"),
    (role.CreateRole(organization_id=ORG, name="x", permissions=(READ_LOGS,) * 51),
     role.INITIAL, InvalidValue, "role_too_many_permissions"),
    (role.UpdateRole(name="y"), role.INITIAL, NotFound, "role_not_found"),
    (role.DeleteRole(), DELETED, NotFound, "role_not_found"),
]


@pytest.mark.parametrize(("command", "state", "kind", "code"), ROLE_REJECTIONS)
def test_every_role_rejection_has_its_code(command: role.RoleCommand, state: role.Role,
                                           kind: type[DomainError], code: str) -> None:
    with pytest.raises(kind) as caught:
        role.decide(command, state)
    assert caught.value.code == code
    entry = CATALOG[code]
    assert (entry.code or code) == caught.value.category
    assert set(caught.value.params) == placeholders(entry.en)
    assert render(code, "en", caught.value.params) == caught.value.message


def test_effective_permissions_are_the_roles_then_the_users_own_without_duplicates() -> None:
    viewer = SYSTEM_ROLES["viewer"]
    assert effective_permissions("viewer", (READ_LOGS, WRITE_USERS)) == (*viewer, WRITE_USERS)
    assert effective_permissions((WRITE_USERS,), (READ_LOGS,)) == (WRITE_USERS, READ_LOGS)
    assert effective_permissions(str(uuid.uuid4()), (READ_LOGS,)) == (READ_LOGS,)


def test_only_a_holder_of_every_action_covers_a_grant() -> None:
    admin = SYSTEM_ROLES["admin"]
    assert covers(SYSTEM_ROLES["owner"], admin)
    assert covers(admin, SYSTEM_ROLES["member"])
    assert not covers(admin, SYSTEM_ROLES["owner"])
    assert not covers(SYSTEM_ROLES["viewer"], (WRITE_USERS,))


def test_an_email_is_claimed_once_and_free_again_after_release() -> None:
    events = claim.claim(claim.INITIAL, claim.EMAIL, "a@x.io", A)
    held = claim.evolve(claim.INITIAL, events[0])
    assert claim.claim(held, claim.EMAIL, "a@x.io", A) == []
    with pytest.raises(AlreadyExists) as taken:
        claim.claim(held, claim.EMAIL, "a@x.io", B)
    assert taken.value.code == "email_taken"
    with pytest.raises(AlreadyExists) as named:
        claim.claim(held, claim.ROLE_NAME, "support", B)
    assert named.value.code == "role_name_taken"
    with pytest.raises(InvalidState) as not_held:
        claim.release(held, claim.EMAIL, "a@x.io", B)
    assert not_held.value.code == "claim_not_held"
    free = claim.evolve(held, claim.release(held, claim.EMAIL, "a@x.io", A)[0])
    assert claim.claim(free, claim.EMAIL, "a@x.io", B)


def test_claim_streams_ignore_case_and_surrounding_space_and_scope_role_names() -> None:
    assert claim.email_stream_id(" A@X.io") == claim.email_stream_id("a@x.io")
    assert claim.role_name_stream_id(ORG, "Support") == claim.role_name_stream_id(ORG, "support")
    assert claim.role_name_stream_id(ORG, "x") != claim.role_name_stream_id(A, "x")


def test_the_last_owner_cannot_leave_the_roster() -> None:
    state = roster.evolve(roster.INITIAL, OwnerAdded(user_id=A))
    assert roster.add(state, A) == []
    with pytest.raises(InvalidState) as caught:
        roster.remove(state, A)
    assert caught.value.code == "last_owner"
    two = roster.evolve(state, OwnerAdded(user_id=B))
    assert roster.remove(two, A) == [OwnerRemoved(user_id=A)]
    assert roster.remove(two, uuid.uuid4()) == []


def test_the_roster_decider_adds_owners_and_keeps_the_last_one() -> None:
    owners = Specification(roster.DECIDER)
    owners.given().when(roster.AddOwner(user_id=A)).then(OwnerAdded(user_id=A))
    owners.given(OwnerAdded(user_id=A)).when(roster.RemoveOwner(user_id=A)).then_raises(
        InvalidState)
    owners.given(OwnerAdded(user_id=A), OwnerAdded(user_id=B)).when(
        roster.RemoveOwner(user_id=A)).then(OwnerRemoved(user_id=A))


def test_the_claim_decider_claims_a_free_value_and_releases_only_the_owners() -> None:
    claims = Specification(claim.DECIDER)
    taken = ValueClaimed(kind=claim.EMAIL, value="a@x.io", owner_id=A)
    claims.given().when(claim.ClaimValue(kind=claim.EMAIL, value="a@x.io", owner_id=A)).then(
        taken)
    claims.given(taken).when(claim.ClaimValue(kind=claim.EMAIL, value="a@x.io", owner_id=B)
                             ).then_raises(AlreadyExists, field="email")
    claims.given(taken).when(claim.ReleaseValue(kind=claim.EMAIL, value="a@x.io", owner_id=B)
                             ).then_raises(InvalidState)
    claims.given(taken).when(claim.ReleaseValue(kind=claim.EMAIL, value="a@x.io", owner_id=A)
                             ).then(ValueReleased(kind=claim.EMAIL, value="a@x.io", owner_id=A))
