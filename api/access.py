"""What a caller may do: the operator everything; an API key its own organization, within
its permissions. Another organization's ids look like they do not exist (404)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec
from litestar import Request

from api.errors import ApiException
from domain.apikey import access
from domain.apikey.events import Action, ApiPermission
from infra.keycache import CachedKey


def key_of(request: Request) -> CachedKey | None:
    return request.scope["state"].get("key")


def permits(permissions: tuple[ApiPermission, ...], resource: str, action: Action) -> bool:
    return any(p.resource in (resource, "*") and action in p.actions for p in permissions)


def require(request: Request, resource: str, action: Action,
            organization_id: UUID | None = None) -> None:
    """Refuse unless the caller may ``action`` on ``resource`` of ``organization_id``."""
    key = key_of(request)
    if key is None:
        return
    if organization_id is not None and organization_id != key.organization_id:
        raise ApiException(404, "not_found", "the requested resource was not found")
    if not permits(key.permissions, resource, action):
        raise ApiException(403, "forbidden", f"this API key may not {action} {resource}",
                           reason="permission_denied",
                           params={"action": action, "resource": resource})


def shaped(request: Request, resource: str, obj: msgspec.Struct) -> Any:
    """``obj`` as this caller may see it: whole for the operator; for a key, only the fields
    its read grants allow, and None when no grant's filters admit the object."""
    key = key_of(request)
    if key is None:
        return obj
    data = msgspec.to_builtins(obj)
    if not access.admits(key.permissions, resource, "read", data):
        return None
    return access.visible(data, access.allowed_fields(key.permissions, resource, "read"))


def require_operator(request: Request) -> None:
    if key_of(request) is not None:
        raise ApiException(403, "forbidden", "only the platform operator may do this",
                           reason="operator_only")
