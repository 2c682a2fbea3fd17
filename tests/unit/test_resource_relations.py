"""The parent-cycle rule on its own, with parents looked up in a dict."""

from __future__ import annotations

import uuid

import pytest

from domain.errors import InvalidValue
from domain.limits import MAX_ANCESTORS
from domain.resource.events import Relationship
from domain.resource.relations import check_acyclic


def _parent(rid: uuid.UUID) -> tuple[Relationship, ...]:
    return (Relationship(type="parent", id=rid),)


def test_a_parent_chain_back_to_the_resource_is_a_cycle() -> None:
    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    parents = {b: [a], c: [b]}
    with pytest.raises(InvalidValue) as caught:
        check_acyclic(a, _parent(c), lambda r: parents.get(r, []))
    assert caught.value.code == "relationship_cycle"
    check_acyclic(c, _parent(b), lambda r: parents.get(r, []))


def test_a_chain_deeper_than_the_bound_is_refused() -> None:
    chain = [uuid.uuid4() for _ in range(MAX_ANCESTORS + 2)]
    parents = {chain[i]: [chain[i + 1]] for i in range(len(chain) - 1)}
    with pytest.raises(InvalidValue) as caught:
        check_acyclic(uuid.uuid4(), _parent(chain[0]), lambda r: parents.get(r, []))
    assert caught.value.code == "relationship_too_deep"


def test_references_and_dependencies_may_loop() -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    check_acyclic(a, (Relationship(type="reference", id=b),), lambda r: [a])
