"""Resource type commands: register a type, change its schema or description."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec


class RegisterResourceType(msgspec.Struct, frozen=True, kw_only=True):
    organization_id: UUID
    name: str
    schema: dict[str, Any]
    description: str = ""
    indexed: tuple[str, ...] = ()


class ChangeResourceType(msgspec.Struct, frozen=True, kw_only=True):
    schema: dict[str, Any] | None = None
    description: str | None = None


ResourceTypeCommand = RegisterResourceType | ChangeResourceType
