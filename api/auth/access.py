"""What a caller may do: the operator everything; an API key its own organization, within
its permissions. Another organization's ids look like they do not exist (404)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec
from litestar import Request

from api.auth.principal import Principal
from api.platform.errors import ApiException
from domain import permissions as access
from domain.permissions import Action, ApiPermission, permits


def principal_of(request: Request) -> Principal | None:
    """The authenticated principal; None for the platform operator."""
    return request.scope["state"].get("principal")


def principal_permits(principal: Principal, resource: str, action: Action) -> bool:
    return all(permits(grant, resource, action) for grant in principal.grants)


def effective_grants(principal: Principal) -> tuple[ApiPermission, ...]:
    """The (resource, action) pairs the principal holds under its ceiling, as permissions:
    what it may pass on to keys, users or roles it creates (conditions are not carried)."""
    if principal.ceiling is None:
        return principal.permissions
    pairs: dict[tuple[str, Action], None] = {}
    for mine, other in ((principal.permissions, principal.ceiling),
                        (principal.ceiling, principal.permissions)):
        for p in mine:
            for action in p.actions:
                if permits(other, p.resource, action):
                    pairs[(p.resource, action)] = None
    return tuple(ApiPermission(resource=r, actions=(a,)) for r, a in pairs)


def require(request: Request, resource: str, action: Action,
            organization_id: UUID | None = None) -> None:
    """Refuse unless the caller may ``action`` on ``resource`` of ``organization_id``."""
    principal = principal_of(request)
    if principal is None:
        return
    if organization_id is not None and organization_id != principal.organization_id:
        raise ApiException(404, "not_found", "the requested resource was not found", audit=True)
    if not principal_permits(principal, resource, action):
        raise ApiException(403, "forbidden", f"this caller may not {action} {resource}",
                           reason="permission_denied",
                           params={"action": action, "resource": resource})


def shaped(request: Request, resource: str, obj: msgspec.Struct) -> Any:
    """``obj`` as this caller may see it: whole for the operator; for a key, only the fields
    its read grants allow, and None when no grant's filters admit the object. With a ceiling,
    both the principal's permissions and the ceiling must admit the object and the field."""
    principal = principal_of(request)
    if principal is None:
        return obj
    data = msgspec.to_builtins(obj)
    return access.effective_view(principal.grants, resource, "read", data)


def require_operator(request: Request) -> None:
    if principal_of(request) is not None:
        raise ApiException(403, "forbidden", "only the platform operator may do this",
                           reason="operator_only")
