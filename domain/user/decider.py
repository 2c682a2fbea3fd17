"""User decider: state, evolve (never raises) and decide (every rule lives here)."""

from __future__ import annotations

from typing import Any, Literal, assert_never
from uuid import UUID

import msgspec

from domain.decider import Decider
from domain.errors import AlreadyExists, Forbidden, InvalidState, InvalidValue, NotFound
from domain.permissions import ApiPermission
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
    UserEvent,
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

# "inactive": invited, the invitation not yet accepted (the seed's status values).
Status = Literal["absent", "inactive", "active", "suspended", "removed"]


class User(msgspec.Struct, frozen=True, kw_only=True):
    status: Status = "absent"
    organization_id: UUID | None = None
    email: str = ""
    first_name: str = ""
    last_name: str = ""
    avatar: str = ""
    metadata: dict[str, Any] = {}
    role: str = ""
    permissions: tuple[ApiPermission, ...] = ()
    email_verified: bool = False
    password_hash: str = ""
    accepted: bool = False  # active at least once (signed up, or accepted the invitation)
    two_factor_enabled: bool = False
    two_factor_secret: str = ""  # ciphertext
    pending_two_factor_secret: str = ""

    @property
    def is_active_owner(self) -> bool:
        return self.status == "active" and self.role == "owner"


INITIAL = User()


def evolve(state: User, event: UserEvent) -> User:
    r = msgspec.structs.replace
    match event:
        case UserInvited():
            return User(status="inactive", organization_id=event.organization_id,
                        email=event.email, first_name=event.first_name,
                        last_name=event.last_name, role=event.role,
                        permissions=event.permissions)
        case UserRegistered():
            return User(status="active", organization_id=event.organization_id,
                        email=event.email, first_name=event.first_name,
                        last_name=event.last_name, role=event.role, accepted=True)
        case UserPasswordSet(password_hash=hashed):
            return r(state, password_hash=hashed)
        case UserEmailVerified():
            return r(state, email_verified=True)
        case UserInvitationAccepted():
            return r(state, status="active", accepted=True)
        case UserProfileUpdated():
            return r(state, first_name=event.first_name, last_name=event.last_name,
                     avatar=event.avatar, metadata=event.metadata)
        case UserRoleChanged():
            return r(state, role=event.role, permissions=event.permissions)
        case UserSuspended():
            return r(state, status="suspended")
        case UserReactivated():
            return r(state, status="active" if state.accepted else "inactive")
        case UserRemoved():
            return r(state, status="removed")
        case UserTwoFactorEnrollmentStarted(secret_ciphertext=secret):
            return r(state, pending_two_factor_secret=secret)
        case UserTwoFactorEnabled():
            return r(state, two_factor_enabled=True, pending_two_factor_secret="",
                     two_factor_secret=state.pending_two_factor_secret)
        case UserTwoFactorDisabled():
            return r(state, two_factor_enabled=False, two_factor_secret="")
        case _:
            return state


def decide(command: UserCommand, state: User) -> list[UserEvent]:
    match command:
        case InviteUser():
            _require_absent(state)
            return [UserInvited(
                organization_id=command.organization_id, email=rules.email(command.email),
                first_name=rules.name(command.first_name, "firstName"),
                last_name=rules.name(command.last_name, "lastName"),
                role=rules.role(command.role), permissions=rules.permissions(command.permissions),
                invited_by=command.invited_by)]
        case RegisterOwner():
            _require_absent(state)
            return [UserRegistered(
                organization_id=command.organization_id, email=rules.email(command.email),
                first_name=rules.name(command.first_name, "firstName"),
                last_name=rules.name(command.last_name, "lastName")),
                UserPasswordSet(password_hash=command.password_hash)]
        case AcceptInvitation():
            _require_present(state)
            if state.status != "inactive" or state.accepted:
                raise InvalidState("the invitation is not pending", code="invitation_not_pending")
            verified = [] if state.email_verified else [UserEmailVerified(email=state.email)]
            return [UserPasswordSet(password_hash=command.password_hash), *verified,
                    UserInvitationAccepted()]
        case VerifyEmail():
            _require_present(state)
            return [] if state.email_verified else [UserEmailVerified(email=state.email)]
        case UpdateProfile():
            return _update_profile(command, state)
        case ChangeRole():
            _require_present(state)
            role = rules.role(command.role)
            perms = state.permissions if command.permissions is None else rules.permissions(
                command.permissions)
            if (role, perms) == (state.role, state.permissions):
                return []
            return [UserRoleChanged(role=role, previous_role=state.role, permissions=perms)]
        case SuspendUser():
            _require_present(state)
            if state.status == "suspended":
                raise InvalidState("user is already suspended", code="user_already_suspended")
            return [UserSuspended(reason=rules.reason(command.reason))]
        case ReactivateUser():
            _require_present(state)
            if state.status != "suspended":
                raise InvalidState("only a suspended user can be reactivated",
                                   code="user_not_suspended")
            return [UserReactivated()]
        case RemoveUser():
            _require_present(state)
            return [UserRemoved(email=state.email)]
        case StartTwoFactor():
            _require_usable(state)
            if state.two_factor_enabled:
                raise InvalidState("two-factor authentication is already enabled",
                                   code="two_factor_already_enabled")
            return [UserTwoFactorEnrollmentStarted(secret_ciphertext=command.secret_ciphertext)]
        case ConfirmTwoFactor():
            _require_usable(state)
            if state.two_factor_enabled:
                raise InvalidState("two-factor authentication is already enabled",
                                   code="two_factor_already_enabled")
            if not state.pending_two_factor_secret:
                raise InvalidState("no two-factor enrollment is pending",
                                   code="two_factor_not_pending")
            _require_code(command.code_ok)
            return [UserTwoFactorEnabled()]
        case DisableTwoFactor():
            _require_present(state)
            if not state.two_factor_enabled:
                raise InvalidState("two-factor authentication is not enabled",
                                   code="two_factor_not_enabled")
            _require_code(command.code_ok)
            return [UserTwoFactorDisabled()]
        case RecordLogin():
            _require_usable(state)
            return [UserLoggedIn()]
        case _:
            assert_never(command)


def _update_profile(command: UpdateProfile, state: User) -> list[UserEvent]:
    _require_present(state)
    updated = UserProfileUpdated(
        first_name=state.first_name if command.first_name is None
        else rules.name(command.first_name, "firstName"),
        last_name=state.last_name if command.last_name is None
        else rules.name(command.last_name, "lastName"),
        avatar=state.avatar if command.avatar is None else rules.avatar(command.avatar),
        metadata=state.metadata if command.metadata is None else rules.metadata(command.metadata))
    if (updated.first_name, updated.last_name, updated.avatar, updated.metadata) == (
            state.first_name, state.last_name, state.avatar, state.metadata):
        return []
    return [updated]


def _require_absent(state: User) -> None:
    if state.status != "absent":
        raise AlreadyExists("user already exists", code="user_exists")


def _require_present(state: User) -> None:
    if state.status in ("absent", "removed"):
        raise NotFound("user not found", code="user_not_found")


def _require_usable(state: User) -> None:
    """Present, not suspended, and past the invitation."""
    _require_present(state)
    if state.status == "suspended":
        raise Forbidden("user is suspended", code="user_suspended")
    if state.status != "active":
        raise InvalidState("user has not accepted the invitation yet", code="user_not_active")


def _require_code(ok: bool) -> None:
    if not ok:
        raise InvalidValue("the two-factor code is not valid", field="code",
                           code="two_factor_code_invalid")


DECIDER = Decider("user", INITIAL, evolve, decide)
