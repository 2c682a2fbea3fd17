"""Per-type grants: `resources` reaches every `resources:<type>`, a type's grant only its own."""

from __future__ import annotations

from domain.permissions import ApiPermission, covers, parse_scope, permits, scope_permissions
from domain.role.system import SYSTEM_ROLES

ALL_RESOURCES = (ApiPermission(resource="resources", actions=("read", "update")),)
BEES = (ApiPermission(resource="resources:bees", actions=("read",)),)
EVERYTHING = (ApiPermission(resource="*", actions=("read",)),)


def test_a_grant_on_resources_allows_every_type() -> None:
    assert permits(ALL_RESOURCES, "resources:bees", "read")
    assert permits(ALL_RESOURCES, "resources:wasps", "update")
    assert permits(EVERYTHING, "resources:bees", "read")


def test_a_per_type_grant_allows_its_type_and_no_other() -> None:
    assert permits(BEES, "resources:bees", "read")
    assert not permits(BEES, "resources:wasps", "read")
    assert not permits(BEES, "resources:bees", "update")
    assert not permits(BEES, "resources", "read")


def test_a_grant_on_a_name_does_not_reach_a_longer_name_sharing_its_prefix() -> None:
    assert not permits((ApiPermission(resource="resource", actions=("read",)),),
                       "resources:bees", "read")
    assert not permits(BEES, "resources:beesx", "read")


def test_covers_understands_the_per_type_form_in_one_direction_only() -> None:
    assert covers(ALL_RESOURCES, BEES)
    assert not covers(BEES, ALL_RESOURCES)
    assert not covers(BEES, (ApiPermission(resource="resources:wasps", actions=("read",)),))


def test_an_oauth_scope_may_name_a_type() -> None:
    assert parse_scope("resources:bees:read") == ("resources:bees", "read")
    assert parse_scope("organizations:read") == ("organizations", "read")
    assert scope_permissions("resources:bees:read resources:bees:update") == (
        ApiPermission(resource="resources:bees", actions=("read", "update")),)


def test_every_system_role_reaches_resources_as_far_as_its_standing() -> None:
    for role in ("owner", "admin", "member"):
        assert all(permits(SYSTEM_ROLES[role], "resources:bees", a)
                   for a in ("create", "read", "update", "delete")), role
    assert permits(SYSTEM_ROLES["viewer"], "resources:bees", "read")
    assert not permits(SYSTEM_ROLES["viewer"], "resources:bees", "update")
