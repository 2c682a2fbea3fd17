"""Request and response bodies of the user routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from msgspec import Meta

from api.platform.bodies import Body, Email, Permissions, PersonName, Reason
from api.platform.schemas import Out, PaginationInfo
from domain import limits as lim
from domain.permissions import ApiPermission

RoleRef = Annotated[str, Meta(min_length=1, max_length=lim.MAX_ROLE_REF)]
Metadata = Annotated[dict[Annotated[str, Meta(max_length=lim.MAX_FIELD_NAME)], Any],
                     Meta(max_length=lim.MAX_METADATA_KEYS)]
Code = Annotated[str, Meta(min_length=6, max_length=6, pattern=r"^[0-9]{6}$")]


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


class UserOut(Out, frozen=True):
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


class UserPage(Out, frozen=True):
    data: list[UserOut]
    pagination: PaginationInfo


class TwoFactorEnrollment(Out, frozen=True):
    id: UUID
    secret: str  # shown once; stored only encrypted
    otpauth_uri: str
    version: int
    position: int | None
