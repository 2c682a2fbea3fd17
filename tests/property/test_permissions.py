"""Permission evaluation (hypothesis): conditions never leak excluded fields or objects."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from api.auth.access import effective_grants, principal_permits
from api.auth.principal import Principal
from domain.organization.plans import PLAN_LIMITS
from domain.permissions import (
    ApiPermission,
    Conditions,
    admits,
    allowed_fields,
    effective_view,
    granting,
    permits,
    visible,
)
from domain.role.system import SYSTEM_ROLES

FIELDS = ["id", "name", "slug", "plan", "status", "settings", "version"]
RESOURCES = ["organizations", "api_keys", "*"]
ACTIONS = ["create", "read", "update", "delete"]

permissions = st.builds(
    ApiPermission, resource=st.sampled_from(RESOURCES),
    actions=st.lists(st.sampled_from(ACTIONS), min_size=1, unique=True).map(tuple),
    conditions=st.none() | st.builds(
        Conditions,
        fields=st.none() | st.lists(st.sampled_from(FIELDS), unique=True).map(tuple),
        filters=st.none() | st.dictionaries(st.sampled_from(["plan", "status"]),
                                            st.sampled_from(["free", "active", "enterprise"]),
                                            max_size=2)))
objects = st.fixed_dictionaries({f: st.sampled_from(["free", "active", "enterprise", "x"])
                                 for f in FIELDS})
key_permissions = st.lists(permissions, max_size=4).map(tuple)


@given(key_permissions, objects, st.sampled_from(ACTIONS))
def test_a_key_never_sees_a_field_no_grant_allows(perms: tuple[ApiPermission, ...],
                                                  obj: dict[str, str], action: str) -> None:
    fields = allowed_fields(perms, "organizations", action)  # type: ignore[arg-type]
    shown = visible(obj, fields)
    grants = granting(perms, "organizations", action)  # type: ignore[arg-type]
    for field in shown:
        assert field == "id" or any(
            g.conditions is None or g.conditions.fields is None or field in g.conditions.fields
            for g in grants)


@given(key_permissions, objects, st.sampled_from(ACTIONS))
def test_an_object_is_admitted_only_through_a_grant_whose_filters_hold(
        perms: tuple[ApiPermission, ...], obj: dict[str, str], action: str) -> None:
    if admits(perms, "organizations", action, obj):  # type: ignore[arg-type]
        assert any(not (g.conditions and g.conditions.filters)
                   or all(obj[k] == v for k, v in g.conditions.filters.items())
                   for g in granting(perms, "organizations", action))  # type: ignore[arg-type]


@given(key_permissions, key_permissions, st.sampled_from(ACTIONS))
def test_adding_grants_never_narrows_what_is_visible(
        perms: tuple[ApiPermission, ...], more: tuple[ApiPermission, ...], action: str) -> None:
    """Effective permissions are a union: a subset of grants is never wider than the whole."""
    small = allowed_fields(perms, "organizations", action)  # type: ignore[arg-type]
    large = allowed_fields(perms + more, "organizations", action)  # type: ignore[arg-type]
    if granting(perms, "organizations", action):  # type: ignore[arg-type]
        assert large is None or (small is not None and small <= large)


@given(key_permissions, key_permissions, objects, st.sampled_from(ACTIONS))
def test_a_principal_under_a_ceiling_never_sees_more_than_the_ceiling_allows(
        own: tuple[ApiPermission, ...], ceiling: tuple[ApiPermission, ...],
        obj: dict[str, str], action: str) -> None:
    """A key held under its role: whatever the key's grants, the view is never wider than
    what the role alone would show, nor than what the key alone would show."""
    both = effective_view((own, ceiling), "organizations", action, obj)  # type: ignore[arg-type]
    for alone in (own, ceiling):
        single = effective_view((alone,), "organizations", action, obj)  # type: ignore[arg-type]
        if single is None:
            assert both is None
        elif both is not None:
            assert set(both) <= set(single)
    principal = Principal("api_key", uuid.uuid4(), uuid.uuid4(), own, PLAN_LIMITS["free"],
                          PLAN_LIMITS["free"], ceiling=ceiling)
    if principal_permits(principal, "organizations", action):  # type: ignore[arg-type]
        assert permits(ceiling, "organizations", action)  # type: ignore[arg-type]
        assert permits(own, "organizations", action)  # type: ignore[arg-type]


@given(key_permissions, st.sampled_from(sorted(SYSTEM_ROLES)),
       st.sampled_from(["organizations", "api_keys", "users", "roles", "webhooks"]),
       st.sampled_from(ACTIONS))
def test_a_key_is_never_wider_than_its_system_role(
        own: tuple[ApiPermission, ...], role: str, resource: str, action: str) -> None:
    principal = Principal("api_key", uuid.uuid4(), uuid.uuid4(), own, PLAN_LIMITS["free"],
                          PLAN_LIMITS["free"], ceiling=SYSTEM_ROLES[role], role=role)
    if principal_permits(principal, resource, action):  # type: ignore[arg-type]
        assert permits(SYSTEM_ROLES[role], resource, action)  # type: ignore[arg-type]
    # and what it may hand on (to keys it issues) is within the role as well
    for granted in effective_grants(principal):
        for a in granted.actions:
            assert permits(SYSTEM_ROLES[role], granted.resource, a)
            assert permits(own, granted.resource, a)
