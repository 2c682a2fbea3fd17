"""The permissions kernel: ``ApiPermission``, its actions, and the one way to ask what a set of
permissions grants, used by API keys, roles, users and OAuth scopes alike.

A permission names a resource (``*`` is every resource), actions, and optional conditions:
the fields a grant shows and the filters an object must match. Several grants add up. A field
or a filter's key may be a dot path into the object (``data.region``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal, cast

import msgspec

from domain.errors import Forbidden
from domain.paths import picked, value_at

Action = Literal["create", "read", "update", "delete"]
ACTIONS: tuple[Action, ...] = ("create", "read", "update", "delete")
ALWAYS_VISIBLE = frozenset({"id"})


class Conditions(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    fields: tuple[str, ...] | None = None
    filters: dict[str, str | int | float | bool] | None = None


class ApiPermission(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The seed's ApiPermission (persisted in events: its shape never changes)."""

    resource: str
    actions: tuple[Action, ...]
    conditions: Conditions | None = None


Permissions = tuple[ApiPermission, ...]


def grants_resource(granted: str, resource: str) -> bool:
    """Whether a grant on ``granted`` reaches ``resource``: ``*`` reaches everything, and a
    resource reaches its kinds, ``resources`` every ``resources:<type>`` (but not back)."""
    return granted in (resource, "*") or resource.partition(":")[0] == granted


def granting(permissions: Iterable[ApiPermission], resource: str,
             action: Action) -> list[ApiPermission]:
    """The grants that allow ``action`` on ``resource``."""
    return [p for p in permissions
            if grants_resource(p.resource, resource) and action in p.actions]


def permits(permissions: Iterable[ApiPermission], resource: str, action: Action) -> bool:
    return bool(granting(permissions, resource, action))


def covers(held: Iterable[ApiPermission], wanted: Iterable[ApiPermission]) -> bool:
    """Whether ``held`` grants every (resource, action) of ``wanted`` (no escalation)."""
    held = tuple(held)
    return all(permits(held, w.resource, a) for w in wanted for a in w.actions)


def check_no_escalation(wanted: Iterable[ApiPermission], grantor: Permissions | None) -> None:
    """A caller may not grant what it does not hold (``grantor`` None: the operator, who
    holds everything)."""
    if grantor is not None and not covers(grantor, wanted):
        raise Forbidden("a key cannot grant more than it holds", code="permission_escalation")


def parse_scope(scope: str) -> tuple[str, Action] | None:
    """An OAuth scope ``resource:action`` as its parts, or None if it is not one."""
    resource, _, action = scope.rpartition(":")  # resources:orders:read names a type
    return (resource, cast(Action, action)) if resource and action in ACTIONS else None


def scope_permissions(scope: str) -> Permissions:
    """Space-separated OAuth scopes as permissions (one grant per resource)."""
    by_resource: dict[str, list[Action]] = {}
    for item in scope.split():
        if (parsed := parse_scope(item)) is not None:
            by_resource.setdefault(parsed[0], []).append(parsed[1])
    return tuple(ApiPermission(resource=r, actions=tuple(dict.fromkeys(a)))
                 for r, a in by_resource.items())


def allowed_fields(permissions: Permissions, resource: str,
                   action: Action) -> frozenset[str] | None:
    """The fields the holder may see (None: all of them). Several grants add up."""
    fields: set[str] = set()
    for p in granting(permissions, resource, action):
        if p.conditions is None or p.conditions.fields is None:
            return None
        fields.update(p.conditions.fields)
    return frozenset(fields | ALWAYS_VISIBLE)


def admits(permissions: Permissions, resource: str, action: Action,
           obj: Mapping[str, Any]) -> bool:
    """Whether some grant's filters all hold for ``obj`` (a grant without filters: always)."""
    for p in granting(permissions, resource, action):
        filters = p.conditions.filters if p.conditions else None
        if not filters or all(value_at(obj, k) == v for k, v in filters.items()):
            return True
    return False


def conditioned(grants: tuple[Permissions, ...]) -> bool:
    """Whether any grant of ``grants`` has filters or fields (without, every object is
    admitted, and every field of it may be written)."""
    return any(p.conditions is not None and (p.conditions.filters or p.conditions.fields is not None)
               for g in grants for p in g)


def admitted(grants: tuple[Permissions, ...], resource: str, action: Action,
             obj: Mapping[str, Any]) -> bool:
    """Whether every permission set of ``grants`` (a key and its ceiling) admits ``obj``."""
    return all(admits(g, resource, action, obj) for g in grants)


def required_filters(grants: tuple[Permissions, ...], resource: str,
                     action: Action) -> dict[str, str | int | float | bool]:
    """Filters every admitted object meets, for a query to apply up front: those of each set
    that grants ``action`` through one permission (several grants are alternatives, which a
    query of ANDs cannot say; the check on each object still holds them)."""
    required: dict[str, str | int | float | bool] = {}
    for g in grants:
        through = granting(g, resource, action)
        if len(through) == 1 and through[0].conditions and through[0].conditions.filters:
            required.update(through[0].conditions.filters)
    return required


def visible(obj: Mapping[str, Any], fields: frozenset[str] | None) -> dict[str, Any]:
    if fields is None:
        return dict(obj)
    return picked(obj, [*(k for k in obj if k in fields), *sorted(fields.difference(obj))])


def effective_view(grants: tuple[Permissions, ...], resource: str, action: Action,
                   obj: Mapping[str, Any]) -> dict[str, Any] | None:
    """``obj`` as seen through every permission set in ``grants`` at once (a key and the role
    it may never exceed): None unless each set admits the object; only the fields that every
    set allows."""
    if not admitted(grants, resource, action, obj):
        return None
    fields: frozenset[str] | None = None
    for g in grants:
        allowed = allowed_fields(g, resource, action)
        if allowed is not None:
            fields = allowed if fields is None else fields & allowed
    return visible(obj, fields)
