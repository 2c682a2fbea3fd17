"""Value rules for users: email, names, avatar, metadata, role references, password policy."""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

import msgspec

from domain.errors import InvalidValue
from domain.limits import (
    MAX_AVATAR,
    MAX_EMAIL,
    MAX_METADATA_BYTES,
    MAX_NAME,
    MAX_REASON,
    check_permissions,
)
from domain.permissions import ApiPermission
from domain.role.system import is_system

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
PASSWORD_MIN, PASSWORD_MAX = 12, 256
INVITE, VERIFY = "invite", "verify"  # what a mailed token is for: accept an invitation, verify


def email(raw: str) -> str:
    value = raw.strip().lower()
    if len(value) > MAX_EMAIL or not EMAIL.fullmatch(value):
        raise InvalidValue("email is not a valid address", field="email", code="email_invalid")
    return value


def name(raw: str, field: str) -> str:
    value = raw.strip()
    if len(value) > MAX_NAME:
        raise InvalidValue(f"{field} is longer than {MAX_NAME} characters", field=field,
                           code="user_name_too_long", params={"field": field, "max": MAX_NAME})
    return value


def avatar(raw: str) -> str:
    if raw and (len(raw) > MAX_AVATAR or not raw.startswith(("https://", "http://"))):
        raise InvalidValue(f"avatar must be an http(s) URL of at most {MAX_AVATAR} characters",
                           field="avatar", code="avatar_invalid")
    return raw


def metadata(raw: dict[str, Any]) -> dict[str, Any]:
    if len(msgspec.json.encode(raw)) > MAX_METADATA_BYTES:
        raise InvalidValue(f"metadata is larger than {MAX_METADATA_BYTES} bytes",
                           field="metadata", code="metadata_too_large",
                           params={"max": MAX_METADATA_BYTES})
    return raw


def role(raw: str) -> str:
    if is_system(raw):
        return raw
    try:
        return str(UUID(raw))
    except ValueError:
        raise InvalidValue("role must be owner, admin, member, viewer or a custom role's id",
                           field="role", code="role_invalid") from None


def permissions(raw: tuple[ApiPermission, ...]) -> tuple[ApiPermission, ...]:
    check_permissions(raw, "user_too_many_permissions")
    return raw


def reason(raw: str) -> str:
    if len(raw) > MAX_REASON:
        raise InvalidValue(f"reason is longer than {MAX_REASON}", field="reason",
                           code="suspend_reason_too_long", params={"max": MAX_REASON})
    return raw


def password(raw: str) -> str:
    """The password policy (checked before hashing, so the domain never sees the password)."""
    if not PASSWORD_MIN <= len(raw) <= PASSWORD_MAX:
        raise InvalidValue(f"password must be {PASSWORD_MIN}-{PASSWORD_MAX} characters",
                           field="password", code="password_policy",
                           params={"min": PASSWORD_MIN, "max": PASSWORD_MAX})
    return raw
