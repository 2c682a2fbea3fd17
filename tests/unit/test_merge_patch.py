"""RFC 7396 JSON merge patch: the RFC's appendix A examples, and what a patch leaves alone."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from domain.resource.document import merge_patch

# RFC 7396 appendix A: (original, patch, result).
APPENDIX_A: list[tuple[Any, Any, Any]] = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize(("original", "patch", "result"), APPENDIX_A)
def test_the_rfc_7396_appendix_examples_give_their_results(original: Any, patch: Any,
                                                           result: Any) -> None:
    assert merge_patch(original, patch) == result


def test_a_merge_patch_changes_neither_of_its_arguments() -> None:
    original, patch = {"a": {"b": 1, "c": [1]}}, {"a": {"b": None, "d": {"e": 2}}}
    before = copy.deepcopy((original, patch))
    merge_patch(original, patch)
    assert (original, patch) == before
