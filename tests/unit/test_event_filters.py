"""Replay's type filter: a pattern's * is the only wildcard; LIKE's own are matched literally."""

from __future__ import annotations

import pytest

from projections.event_queries import TYPE_PATTERN, like


@pytest.mark.parametrize(("pattern", "expected"), [
    ("resource.*", "resource.%"), ("*.Deleted", "%.Deleted"),
    ("organization.Renamed", "organization.Renamed"), ("resource_type.*", "resource\\_type.%"),
])
def test_a_type_pattern_becomes_a_like_pattern(pattern: str, expected: str) -> None:
    assert like(pattern) == expected


@pytest.mark.parametrize("pattern", ["a%b", "a b", "", "x" * 101, "a\\b", "résumé.*"])
def test_a_pattern_with_anything_but_names_dots_and_stars_is_refused(pattern: str) -> None:
    assert not TYPE_PATTERN.fullmatch(pattern)
