"""User events, tagged ``user.<Name>``: the seed's User. Passwords appear only as argon2id
hashes and two-factor secrets only encrypted."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec

from domain.permissions import ApiPermission


class _Event(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    pass


class UserInvited(_Event, tag="user.Invited", frozen=True):
    organization_id: UUID
    email: str
    role: str  # a system role's name or a custom role's id
    invited_by: str
    first_name: str = ""
    last_name: str = ""
    permissions: tuple[ApiPermission, ...] = ()


class UserRegistered(_Event, tag="user.Registered", frozen=True):
    """The owner who signed the organization up."""

    organization_id: UUID
    email: str
    first_name: str = ""
    last_name: str = ""
    role: str = "owner"


class UserPasswordSet(_Event, tag="user.PasswordSet", frozen=True):
    password_hash: str  # argon2id, never the password


class UserEmailVerified(_Event, tag="user.EmailVerified", frozen=True):
    email: str


class UserInvitationAccepted(_Event, tag="user.InvitationAccepted", frozen=True):
    pass


class UserProfileUpdated(_Event, tag="user.ProfileUpdated", frozen=True):
    first_name: str
    last_name: str
    avatar: str
    metadata: dict[str, Any]


class UserRoleChanged(_Event, tag="user.RoleChanged", frozen=True):
    role: str
    previous_role: str
    permissions: tuple[ApiPermission, ...] = ()


class UserSuspended(_Event, tag="user.Suspended", frozen=True):
    reason: str = ""


class UserReactivated(_Event, tag="user.Reactivated", frozen=True):
    pass


class UserRemoved(_Event, tag="user.Removed", frozen=True):
    email: str


class UserTwoFactorEnrollmentStarted(_Event, tag="user.TwoFactorEnrollmentStarted", frozen=True):
    secret_ciphertext: str  # AES-GCM under a key derived from ENCRYPTION_KEY


class UserTwoFactorEnabled(_Event, tag="user.TwoFactorEnabled", frozen=True):
    pass


class UserTwoFactorDisabled(_Event, tag="user.TwoFactorDisabled", frozen=True):
    pass


class UserLoggedIn(_Event, tag="user.LoggedIn", frozen=True):
    pass


UserEvent = (
    UserInvited
    | UserRegistered
    | UserPasswordSet
    | UserEmailVerified
    | UserInvitationAccepted
    | UserProfileUpdated
    | UserRoleChanged
    | UserSuspended
    | UserReactivated
    | UserRemoved
    | UserTwoFactorEnrollmentStarted
    | UserTwoFactorEnabled
    | UserTwoFactorDisabled
    | UserLoggedIn
)
