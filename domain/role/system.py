"""The system roles and their fixed permissions; a user's effective permissions."""

from __future__ import annotations

from collections.abc import Iterable

from domain.permissions import Action, ApiPermission

CRUD: tuple[Action, ...] = ("create", "read", "update", "delete")
READ: tuple[Action, ...] = ("read",)
MANAGED = ("users", "roles", "api_keys", "webhooks", "analytics", "logs", "resources", "alerts")

SYSTEM_ROLES: dict[str, tuple[ApiPermission, ...]] = {
    "owner": (ApiPermission(resource="*", actions=CRUD),),
    "admin": (ApiPermission(resource="organizations", actions=("read", "update")),
              *(ApiPermission(resource=r, actions=CRUD) for r in MANAGED)),
    "member": (ApiPermission(resource="organizations", actions=READ),
               ApiPermission(resource="users", actions=READ),
               ApiPermission(resource="roles", actions=READ),
               ApiPermission(resource="api_keys", actions=("create", "read")),
               ApiPermission(resource="analytics", actions=READ),
               ApiPermission(resource="logs", actions=READ),
               ApiPermission(resource="alerts", actions=READ),
               ApiPermission(resource="resources", actions=CRUD)),  # the tenant's data
    "viewer": tuple(ApiPermission(resource=r, actions=READ)
                    for r in ("organizations", "users", "roles", "api_keys", "analytics", "logs",
                              "resources", "alerts")),
}
DESCRIPTIONS = {
    "owner": "Everything, including deleting the organization.",
    "admin": "Manages users, roles, API keys and settings.",
    "member": "Reads the organization, works with API keys and with resources.",
    "viewer": "Reads only.",
}


def is_system(role: str) -> bool:
    return role in SYSTEM_ROLES


def effective_permissions(role: str | tuple[ApiPermission, ...],
                          user_permissions: Iterable[ApiPermission]) -> tuple[ApiPermission, ...]:
    """The role's permissions (a system role's name, or a custom role's permissions) followed
    by the user's own grants, duplicates dropped. An unknown role name grants nothing."""
    base = SYSTEM_ROLES.get(role, ()) if isinstance(role, str) else role
    seen: list[ApiPermission] = []
    for permission in (*base, *user_permissions):
        if permission not in seen:
            seen.append(permission)
    return tuple(seen)

