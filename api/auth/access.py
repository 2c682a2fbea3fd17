"""What a caller may do: the operator everything; an API key its own organization, within
its permissions. Another organization's ids look like they do not exist (404)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec
from litestar import Request
from litestar.di import NamedDependency, Provide
from litestar.params import SkipValidation

from api.auth.principal import Principal
from api.platform.errors import ApiException
from domain import permissions as access
from domain.permissions import Action, ApiPermission, permits

# The caller, as routes receive it (dependencies below); set by the guard, not sent.
Caller = NamedDependency[SkipValidation[Principal | None]]
Tenant = NamedDependency[SkipValidation[UUID | None]]


def principal_of(request: Request) -> Principal | None:
    """The authenticated principal; None for the platform operator."""
    return request.scope["state"].get("principal")


def tenant_of(request: Request) -> UUID | None:
    """The caller's organization: whose rows it may read and write; None for the operator."""
    principal = principal_of(request)
    return principal.organization_id if principal is not None else None


def providers() -> dict[str, Provide]:
    """``caller`` and ``tenant`` for every route (create_app registers them)."""
    return {"caller": Provide(principal_of, sync_to_thread=False),
            "tenant": Provide(tenant_of, sync_to_thread=False)}


def organization_for(tenant: UUID | None, given: UUID | None) -> UUID:
    """The organization a create targets: the body's, else the caller's own."""
    org_id = given or tenant
    if org_id is None:
        raise ApiException(422, "validation_failed", reason="organization_id_required")
    return org_id


def grantor_of(caller: Principal | None) -> tuple[ApiPermission, ...] | None:
    """What the caller may hand on to what it creates; None: anything (the operator)."""
    return effective_grants(caller) if caller else None


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
