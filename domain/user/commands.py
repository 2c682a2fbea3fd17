"""User commands: what a caller asks of a user. Checks needing secrets or a clock (password
hashes, tokens, TOTP codes) are done by commands/ and arrive here as values or verdicts."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec

from domain.permissions import ApiPermission


class InviteUser(msgspec.Struct, frozen=True, kw_only=True):
    organization_id: UUID
    email: str
    first_name: str = ""
    last_name: str = ""
    role: str = "member"
    permissions: tuple[ApiPermission, ...] = ()
    invited_by: str


class RegisterOwner(msgspec.Struct, frozen=True, kw_only=True):
    organization_id: UUID
    email: str
    first_name: str = ""
    last_name: str = ""
    password_hash: str


class AcceptInvitation(msgspec.Struct, frozen=True, kw_only=True):
    password_hash: str


class VerifyEmail(msgspec.Struct, frozen=True, kw_only=True):
    pass


class UpdateProfile(msgspec.Struct, frozen=True, kw_only=True):
    first_name: str | None = None
    last_name: str | None = None
    avatar: str | None = None
    metadata: dict[str, Any] | None = None


class ChangeRole(msgspec.Struct, frozen=True, kw_only=True):
    role: str
    permissions: tuple[ApiPermission, ...] | None = None


class SuspendUser(msgspec.Struct, frozen=True, kw_only=True):
    reason: str = ""


class ReactivateUser(msgspec.Struct, frozen=True, kw_only=True):
    pass


class RemoveUser(msgspec.Struct, frozen=True, kw_only=True):
    pass


class StartTwoFactor(msgspec.Struct, frozen=True, kw_only=True):
    secret_ciphertext: str


class ConfirmTwoFactor(msgspec.Struct, frozen=True, kw_only=True):
    code_ok: bool  # the TOTP code matched the pending secret (checked by commands/)


class DisableTwoFactor(msgspec.Struct, frozen=True, kw_only=True):
    code_ok: bool


class RecordLogin(msgspec.Struct, frozen=True, kw_only=True):
    pass


UserCommand = (
    InviteUser
    | RegisterOwner
    | AcceptInvitation
    | VerifyEmail
    | UpdateProfile
    | ChangeRole
    | SuspendUser
    | ReactivateUser
    | RemoveUser
    | StartTwoFactor
    | ConfirmTwoFactor
    | DisableTwoFactor
    | RecordLogin
)
