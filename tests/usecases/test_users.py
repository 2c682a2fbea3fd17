"""User use cases on the in-memory store: the owner roster and the email claims."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import pytest

from commands.users import SignedUp, UserCommands
from domain.errors import AlreadyExists, InvalidState
from domain.organization.commands import CreateOrganization
from domain.roster.decider import roster_stream_id
from domain.user.commands import ChangeRole, InviteUser, RemoveUser, SuspendUser
from infra import credentials as cred
from tests.builders import context
from tests.usecases.conftest import API_SECRET, PASSWORD, RacingStore


def sign_up(users: UserCommands, slug: str = "acme", email: str = "owner@acme.test") -> SignedUp:
    return users.signup(context(), CreateOrganization(name="Acme", slug=slug), email=email,
                        password=PASSWORD)


def invite(users: UserCommands, org_id: UUID, email: str, role: str = "member") -> UUID:
    return users.invite(context(), org_id, InviteUser(
        organization_id=org_id, email=email, role=role, invited_by="tests")).stream_id


def test_signing_up_makes_the_owner_the_rosters_only_member(
        store: RacingStore, users: UserCommands) -> None:
    signed = sign_up(users)
    [added] = store.load(roster_stream_id(signed.organization_id))
    assert getattr(added.event, "user_id", None) == signed.user_id


@pytest.mark.parametrize("change", [ChangeRole(role="admin"), SuspendUser(), RemoveUser()],
                         ids=["demoted", "suspended", "removed"])
def test_the_last_owner_cannot_stop_being_one(users: UserCommands, change: object) -> None:
    signed = sign_up(users)
    with pytest.raises(InvalidState) as caught:
        users.handle(context(), signed.organization_id, signed.user_id, change)  # type: ignore[arg-type]
    assert caught.value.code == "last_owner"


def test_an_owner_may_step_down_while_another_active_owner_remains(
        store: RacingStore, users: UserCommands) -> None:
    signed = sign_up(users)
    other = invite(users, signed.organization_id, "second@acme.test", role="owner")
    assert len(store.load(roster_stream_id(signed.organization_id))) == 1  # not active yet
    token = cred.make_token(API_SECRET, cred.INVITE, other, "second@acme.test", 1,
                            datetime.now(UTC))
    users.accept_invitation(context(), token, PASSWORD)
    users.handle(context(), signed.organization_id, signed.user_id, ChangeRole(role="admin"))
    with pytest.raises(InvalidState):
        users.handle(context(), signed.organization_id, other, RemoveUser())


def test_one_email_address_belongs_to_one_user_across_organizations(
        users: UserCommands) -> None:
    first = sign_up(users, "acme", "shared@example.test")
    second = sign_up(users, "globex", "boss@globex.test")
    with pytest.raises(AlreadyExists) as caught:
        invite(users, second.organization_id, "Shared@Example.test")
    assert caught.value.code == "email_taken"
    invite(users, first.organization_id, "fresh@example.test")


def test_a_removed_users_email_can_be_claimed_again(users: UserCommands) -> None:
    signed = sign_up(users)
    invited = invite(users, signed.organization_id, "temp@acme.test")
    users.handle(context(), signed.organization_id, invited, RemoveUser())
    assert invite(users, signed.organization_id, "temp@acme.test") != invited


def test_two_sign_ups_with_one_email_at_once_leave_one_user(
        store: RacingStore, users: UserCommands) -> None:
    store.rivals.append(lambda: sign_up(users, "first", "race@example.test"))
    with pytest.raises(AlreadyExists):
        sign_up(users, "second", "race@example.test")
    assert len(store.log) == 6  # the winner's organization, slug, user (2), email and roster
