"""Request and response bodies of the users, roles and sign-up routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from msgspec import Meta

from api.organizations.schemas import PaginationInfo, _Out
from api.platform.bodies import Body, Name, Permissions, Reason, Slug
from domain import limits as lim
from domain.apikey.events import ApiPermission

Email = Annotated[str, Meta(min_length=3, max_length=lim.MAX_EMAIL)]
# The policy (12-256) answers with its own code.
Password = Annotated[str, Meta(max_length=lim.MAX_PASSWORD_INPUT)]
PersonName = Annotated[str, Meta(max_length=lim.MAX_NAME)]
RoleRef = Annotated[str, Meta(min_length=1, max_length=lim.MAX_ROLE_REF)]
Token = Annotated[str, Meta(min_length=1, max_length=lim.MAX_TOKEN)]
RoleName = Annotated[str, Meta(min_length=1, max_length=lim.MAX_ROLE_NAME)]
Description = Annotated[str, Meta(max_length=lim.MAX_DESCRIPTION)]
Metadata = Annotated[dict[Annotated[str, Meta(max_length=lim.MAX_FIELD_NAME)], Any],
                     Meta(max_length=lim.MAX_METADATA_KEYS)]
Code = Annotated[str, Meta(min_length=6, max_length=6, pattern=r"^[0-9]{6}$")]


class SignupBody(Body, frozen=True):
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


class TokenBody(Body, frozen=True):
    token: Token


class AcceptInvitationBody(Body, frozen=True):
    token: Token
    password: Password


class InviteBody(Body, frozen=True):
    email: Email
    organization_id: UUID | None = None
    first_name: PersonName = ""
    last_name: PersonName = ""
    role: RoleRef = "member"
    permissions: Permissions = []


class UpdateUserBody(Body, frozen=True):
    first_name: PersonName | None = None
    last_name: PersonName | None = None
    avatar: Annotated[str, Meta(max_length=lim.MAX_AVATAR)] | None = None
    metadata: Metadata | None = None
    role: RoleRef | None = None
    permissions: Permissions | None = None


class SuspendUserBody(Body, frozen=True):
    reason: Reason = ""


class CodeBody(Body, frozen=True):
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


class CreateRoleBody(Body, frozen=True):
    name: RoleName
    organization_id: UUID | None = None
    description: Description = ""
    permissions: Permissions = []


class UpdateRoleBody(Body, frozen=True):
    name: RoleName | None = None
    description: Description | None = None
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
