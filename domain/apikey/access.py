"""Permission evaluation: which actions, which fields and which objects a key may see."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain.apikey.events import Action, ApiPermission

ALWAYS_VISIBLE = frozenset({"id"})


def granting(permissions: tuple[ApiPermission, ...], resource: str,
             action: Action) -> list[ApiPermission]:
    return [p for p in permissions if p.resource in (resource, "*") and action in p.actions]


def allowed_fields(permissions: tuple[ApiPermission, ...], resource: str,
                   action: Action) -> frozenset[str] | None:
    """The fields the key may see (None: all of them). Several grants add up."""
    fields: set[str] = set()
    for p in granting(permissions, resource, action):
        if p.conditions is None or p.conditions.fields is None:
            return None
        fields.update(p.conditions.fields)
    return frozenset(fields | ALWAYS_VISIBLE)


def admits(permissions: tuple[ApiPermission, ...], resource: str, action: Action,
           obj: Mapping[str, Any]) -> bool:
    """Whether some grant's filters all hold for ``obj`` (a grant without filters: always)."""
    for p in granting(permissions, resource, action):
        filters = p.conditions.filters if p.conditions else None
        if not filters or all(obj.get(k) == v for k, v in filters.items()):
            return True
    return False


def visible(obj: Mapping[str, Any], fields: frozenset[str] | None) -> dict[str, Any]:
    return dict(obj) if fields is None else {k: v for k, v in obj.items() if k in fields}


def effective_view(grants: tuple[tuple[ApiPermission, ...], ...], resource: str, action: Action,
                   obj: Mapping[str, Any]) -> dict[str, Any] | None:
    """``obj`` as seen through every permission set in ``grants`` at once (a key and the role
    it may never exceed): None unless each set admits the object; only the fields that every
    set allows."""
    if not all(admits(g, resource, action, obj) for g in grants):
        return None
    fields: frozenset[str] | None = None
    for g in grants:
        allowed = allowed_fields(g, resource, action)
        if allowed is not None:
            fields = allowed if fields is None else fields & allowed
    return visible(obj, fields)
