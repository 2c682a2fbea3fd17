"""Request and response bodies of the users, roles and sign-up routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from msgspec import Meta

from api.schemas import Name, PaginationInfo, Slug, _In, _Out
from domain.apikey.events import ApiPermission

Email = Annotated[str, Meta(min_length=3, max_length=254)]
Password = Annotated[str, Meta(max_length=1024)]  # the policy (12-256) answers with its own code
PersonName = Annotated[str, Meta(max_length=255)]
RoleRef = Annotated[str, Meta(min_length=1, max_length=64)]
Permissions = Annotated[list[ApiPermission], Meta(max_length=50)]
Token = Annotated[str, Meta(min_length=1, max_length=200)]
Code = Annotated[str, Meta(min_length=6, max_length=6, pattern=r"^[0-9]{6}$")]


class SignupBody(_In, frozen=True):
    organization_name: Name
    slug: Slug
    email: Email
    password: Password
    first_name: PersonName = ""
    last_name: PersonName = ""


class SignedUpOut(_Out, frozen=True):
    organization_id: UUID
    user_id: UUID
    version: int
    position: int | None


class TokenBody(_In, frozen=True):
    token: Token


class AcceptInvitationBody(_In, frozen=True):
    token: Token
    password: Password


class InviteBody(_In, frozen=True):
    email: Email
    organization_id: UUID | None = None
    first_name: PersonName = ""
    last_name: PersonName = ""
    role: RoleRef = "member"
    permissions: Permissions = []


class UpdateUserBody(_In, frozen=True):
    first_name: PersonName | None = None
    last_name: PersonName | None = None
    avatar: Annotated[str, Meta(max_length=2048)] | None = None
    metadata: dict[str, Any] | None = None
    role: RoleRef | None = None
    permissions: Permissions | None = None


class SuspendUserBody(_In, frozen=True):
    reason: Annotated[str, Meta(max_length=1000)] = ""


class CodeBody(_In, frozen=True):
    code: Code


class UserOut(_Out, frozen=True):
    id: UUID
    organization_id: UUID
    email: str
    first_name: str
    last_name: str
    avatar: str
    role: str
    permissions: list[ApiPermission]
    status: str
    email_verified: bool
    two_factor_enabled: bool
    last_login_at: datetime | None
    metadata: dict[str, Any]
    version: int
    created_at: datetime
    updated_at: datetime


class UserPage(_Out, frozen=True):
    data: list[UserOut]
    pagination: PaginationInfo


class TwoFactorEnrollment(_Out, frozen=True):
    id: UUID
    secret: str  # shown once; stored only encrypted
    otpauth_uri: str
    version: int
    position: int | None


class CreateRoleBody(_In, frozen=True):
    name: Annotated[str, Meta(min_length=1, max_length=100)]
    organization_id: UUID | None = None
    description: Annotated[str, Meta(max_length=1000)] = ""
    permissions: Permissions = []


class UpdateRoleBody(_In, frozen=True):
    name: Annotated[str, Meta(min_length=1, max_length=100)] | None = None
    description: Annotated[str, Meta(max_length=1000)] | None = None
    permissions: Permissions | None = None


class RoleOut(_Out, frozen=True):
    """The seed's UserRole; system roles have their name as id."""

    id: str
    name: str
    description: str
    is_system: bool
    permissions: list[ApiPermission]
    organization_id: UUID | None = None
    version: int = 0


class RoleList(_Out, frozen=True):
    data: list[RoleOut]
