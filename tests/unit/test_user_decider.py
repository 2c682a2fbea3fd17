"""Given/when/then on the user decider: every command's events and every rejection's code."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from api.platform.errors import DOMAIN_STATUS
from api.platform.i18n import CATALOG, placeholders, render
from domain.errors import AlreadyExists, DomainError, Forbidden, InvalidState, InvalidValue, NotFound
from domain.permissions import ApiPermission
from domain.user import decider as user
from domain.user import rules
from domain.user.commands import (
    AcceptInvitation,
    ChangeRole,
    ConfirmTwoFactor,
    DisableTwoFactor,
    InviteUser,
    ReactivateUser,
    RecordLogin,
    RegisterOwner,
    RemoveUser,
    StartTwoFactor,
    SuspendUser,
    UpdateProfile,
    UserCommand,
    VerifyEmail,
)
from domain.user.events import (
    UserEmailVerified,
    UserInvitationAccepted,
    UserInvited,
    UserLoggedIn,
    UserPasswordSet,
    UserProfileUpdated,
    UserReactivated,
    UserRegistered,
    UserRemoved,
    UserRoleChanged,
    UserSuspended,
    UserTwoFactorDisabled,
    UserTwoFactorEnabled,
    UserTwoFactorEnrollmentStarted,
)
from tests.unit.spec import Specification

ORG = uuid.UUID(int=7)
READ = ApiPermission(resource="logs", actions=("read",))
INVITED = UserInvited(organization_id=ORG, email="ann@example.com", first_name="Ann",
                      role="member", invited_by="operator")
REGISTERED = UserRegistered(organization_id=ORG, email="own@example.com")


def fold(*events: Any) -> user.User:
    return Specification(user.DECIDER).given(*events).state


ACTIVE = fold(INVITED, UserPasswordSet(password_hash="h"), UserEmailVerified(email="a"),
              UserInvitationAccepted())
SUSPENDED = fold(INVITED, UserInvitationAccepted(), UserSuspended())
WITH_2FA = fold(REGISTERED, UserTwoFactorEnrollmentStarted(secret_ciphertext="c"),
                UserTwoFactorEnabled())


def invite(**changes: Any) -> InviteUser:
    fields: dict[str, Any] = {"organization_id": ORG, "email": " Ann@Example.com ",
                              "first_name": "Ann", "role": "member", "invited_by": "operator"}
    return InviteUser(**{**fields, **changes})


def test_an_invitation_records_the_normalized_email_role_and_inviter() -> None:
    assert user.decide(invite(), user.INITIAL) == [INVITED]
    state = fold(INVITED)
    assert (state.status, state.email_verified, state.password_hash) == ("inactive", False, "")


def test_signing_up_registers_an_active_owner_with_a_password_hash() -> None:
    events = user.decide(RegisterOwner(organization_id=ORG, email="Own@example.com",
                                       password_hash="$argon2id$x"), user.INITIAL)
    assert events == [REGISTERED, UserPasswordSet(password_hash="$argon2id$x")]
    state = fold(*events)
    assert (state.status, state.role, state.is_active_owner) == ("active", "owner", True)


def test_accepting_an_invitation_sets_the_password_verifies_and_activates() -> None:
    events = user.decide(AcceptInvitation(password_hash="h"), fold(INVITED))
    assert events == [UserPasswordSet(password_hash="h"),
                      UserEmailVerified(email="ann@example.com"), UserInvitationAccepted()]
    assert fold(INVITED, *events).status == "active"


def test_verifying_twice_changes_nothing() -> None:
    assert user.decide(VerifyEmail(), fold(REGISTERED)) == [
        UserEmailVerified(email="own@example.com")]
    assert user.decide(VerifyEmail(), ACTIVE) == []


def test_profile_and_role_changes_record_only_differences() -> None:
    assert user.decide(UpdateProfile(first_name="Ann"), ACTIVE) == []
    assert user.decide(UpdateProfile(last_name="Lee", metadata={"team": "a"}), ACTIVE) == [
        UserProfileUpdated(first_name="Ann", last_name="Lee", avatar="", metadata={"team": "a"})]
    assert user.decide(ChangeRole(role="member"), ACTIVE) == []
    assert user.decide(ChangeRole(role="admin", permissions=(READ,)), ACTIVE) == [
        UserRoleChanged(role="admin", previous_role="member", permissions=(READ,))]


def test_suspension_reactivation_login_and_removal() -> None:
    assert user.decide(SuspendUser(reason="r"), ACTIVE) == [UserSuspended(reason="r")]
    assert user.decide(ReactivateUser(), SUSPENDED) == [UserReactivated()]
    assert fold(INVITED, UserSuspended(), UserReactivated()).status == "inactive"
    assert fold(INVITED, UserInvitationAccepted(), UserSuspended(),
                UserReactivated()).status == "active"
    assert user.decide(RecordLogin(), ACTIVE) == [UserLoggedIn()]
    assert user.decide(RemoveUser(), ACTIVE) == [UserRemoved(email="ann@example.com")]


def test_two_factor_enrollment_moves_the_pending_secret_on_confirmation() -> None:
    started = user.decide(StartTwoFactor(secret_ciphertext="c"), ACTIVE)
    pending = fold(INVITED, UserInvitationAccepted(), *started)
    assert user.decide(ConfirmTwoFactor(code_ok=True), pending) == [UserTwoFactorEnabled()]
    enabled = fold(INVITED, UserInvitationAccepted(), *started, UserTwoFactorEnabled())
    assert (enabled.two_factor_secret, enabled.pending_two_factor_secret) == ("c", "")
    assert user.decide(DisableTwoFactor(code_ok=True), enabled) == [UserTwoFactorDisabled()]


REMOVED = fold(INVITED, UserRemoved(email="ann@example.com"))
REJECTIONS: list[tuple[UserCommand, user.User, type[DomainError], str]] = [
    (invite(), ACTIVE, AlreadyExists, "user_exists"),
    (invite(email="not-an-email"), user.INITIAL, InvalidValue, "email_invalid"),
    (invite(email="a@" + "b" * 260 + ".com"), user.INITIAL, InvalidValue, "email_invalid"),
    (invite(first_name="n" * 256), user.INITIAL, InvalidValue, "user_name_too_long"),
    (invite(role="superuser"), user.INITIAL, InvalidValue, "role_invalid"),
    (invite(permissions=(READ,) * 51), user.INITIAL, InvalidValue, "user_too_many_permissions"),
    (AcceptInvitation(password_hash="h"), ACTIVE, InvalidState, "invitation_not_pending"),
    (AcceptInvitation(password_hash="h"), user.INITIAL, NotFound, "user_not_found"),
    (VerifyEmail(), REMOVED, NotFound, "user_not_found"),
    (UpdateProfile(avatar="ftp://x"), ACTIVE, InvalidValue, "avatar_invalid"),
    (UpdateProfile(metadata={"k": "v" * 20_000}), ACTIVE, InvalidValue, "metadata_too_large"),
    (ChangeRole(role="nope"), ACTIVE, InvalidValue, "role_invalid"),
    (SuspendUser(), SUSPENDED, InvalidState, "user_already_suspended"),
    (SuspendUser(reason="r" * 1001), ACTIVE, InvalidValue, "suspend_reason_too_long"),
    (ReactivateUser(), ACTIVE, InvalidState, "user_not_suspended"),
    (RemoveUser(), REMOVED, NotFound, "user_not_found"),
    (RecordLogin(), SUSPENDED, Forbidden, "user_suspended"),
    (RecordLogin(), fold(INVITED), InvalidState, "user_not_active"),
    (StartTwoFactor(secret_ciphertext="c"), WITH_2FA, InvalidState, "two_factor_already_enabled"),
    (ConfirmTwoFactor(code_ok=True), WITH_2FA, InvalidState, "two_factor_already_enabled"),
    (ConfirmTwoFactor(code_ok=True), ACTIVE, InvalidState, "two_factor_not_pending"),
    (ConfirmTwoFactor(code_ok=False), fold(REGISTERED, UserTwoFactorEnrollmentStarted(
        secret_ciphertext="c")), InvalidValue, "two_factor_code_invalid"),
    (DisableTwoFactor(code_ok=True), ACTIVE, InvalidState, "two_factor_not_enabled"),
    (DisableTwoFactor(code_ok=False), WITH_2FA, InvalidValue, "two_factor_code_invalid"),
]


@pytest.mark.parametrize(("command", "state", "kind", "code"), REJECTIONS,
                         ids=[f"{type(r[0]).__name__}-{r[3]}" for r in REJECTIONS])
def test_every_rejection_has_its_class_and_code(command: UserCommand, state: user.User,
                                                kind: type[DomainError], code: str) -> None:
    with pytest.raises(kind) as caught:
        user.decide(command, state)
    assert caught.value.code == code


@pytest.mark.parametrize("password", ["short", "x" * 11, "x" * 257])
def test_the_password_policy_refuses_passwords_outside_12_to_256_characters(
        password: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        rules.password(password)
    assert caught.value.code == "password_policy"


def test_passwords_of_12_and_256_characters_pass_the_policy() -> None:
    assert rules.password("p" * 12) == "p" * 12
    assert rules.password("p" * 256) == "p" * 256


def test_evolve_ignores_what_it_does_not_know() -> None:
    assert user.evolve(ACTIVE, object()) is ACTIVE  # type: ignore[arg-type]


@pytest.mark.parametrize(("command", "state", "kind", "code"), REJECTIONS,
                         ids=[f"{type(r[0]).__name__}-{r[3]}" for r in REJECTIONS])
def test_every_rejection_speaks_the_catalogs_english_with_its_parameters(
        command: UserCommand, state: user.User, kind: type[DomainError], code: str) -> None:
    with pytest.raises(kind) as caught:
        user.decide(command, state)
    entry = CATALOG[code]
    assert (entry.code or code) == caught.value.category
    assert entry.status == next(s for t, s in DOMAIN_STATUS.items() if isinstance(caught.value, t))
    assert set(caught.value.params) == placeholders(entry.en)
    assert render(code, "en", caught.value.params) == caught.value.message
