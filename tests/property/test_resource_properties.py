"""Properties of RFC 7396 merge patch and of the canonical JSON a resource's checksum is of."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from domain.resource.document import canonical, merge_patch

scalars = st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.text(max_size=5)
keys = st.text(max_size=3)
documents = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    keys, inner, max_size=4), max_leaves=12)
objects = st.dictionaries(keys, documents, max_size=5)


@given(target=objects, patch=objects)
def test_a_patch_sets_its_members_removes_its_nulls_and_leaves_the_rest(
        target: dict[str, Any], patch: dict[str, Any]) -> None:
    result = merge_patch(target, patch)
    for key, value in patch.items():
        if value is None:
            assert key not in result
        elif isinstance(value, dict):
            assert result[key] == merge_patch(target.get(key), value)
        else:
            assert result[key] == value
    assert {k: v for k, v in result.items() if k not in patch} == {
        k: v for k, v in target.items() if k not in patch}


@given(target=objects, patch=objects)
def test_applying_a_patch_twice_is_applying_it_once(target: dict[str, Any],
                                                    patch: dict[str, Any]) -> None:
    once = merge_patch(target, patch)
    assert merge_patch(once, patch) == once


@given(target=objects)
def test_the_empty_patch_changes_nothing_and_a_non_object_patch_replaces_the_whole(
        target: dict[str, Any]) -> None:
    assert merge_patch(target, {}) == target
    assert merge_patch(target, [1]) == [1]


@given(doc=objects)
def test_the_canonical_json_is_the_same_for_any_key_order_and_decodes_to_the_document(
        doc: dict[str, Any]) -> None:
    reversed_doc = dict(reversed(list(doc.items())))
    assert canonical(doc) == canonical(reversed_doc)
    assert json.loads(canonical(doc)) == doc
