"""Rules on relationships between resources: the parent relationships never form a cycle.
Pure: the caller says how to find a resource's parents (the use case folds their streams)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from uuid import UUID

from domain.errors import InvalidValue
from domain.limits import MAX_ANCESTORS
from domain.resource.events import Relationship


def parents(relationships: Iterable[Relationship]) -> list[UUID]:
    return [r.id for r in relationships if r.type == "parent"]


def check_acyclic(resource_id: UUID, relationships: Iterable[Relationship],
                  parents_of: Callable[[UUID], list[UUID]]) -> None:
    """Refuse ``relationships`` for ``resource_id`` if following parents from them comes back
    to it. The walk looks at MAX_ANCESTORS resources at most: a deeper chain is refused too,
    since it cannot be shown to be free of cycles."""
    frontier, seen = parents(relationships), set[UUID]()
    while frontier:
        current = frontier.pop()
        if current == resource_id:
            raise InvalidValue("the parent relationships would form a cycle",
                               field="relationships", code="relationship_cycle")
        if current in seen:
            continue
        if len(seen) >= MAX_ANCESTORS:
            raise InvalidValue(f"a resource has at most {MAX_ANCESTORS} ancestors",
                               field="relationships", code="relationship_too_deep",
                               params={"max": MAX_ANCESTORS})
        seen.add(current)
        frontier += parents_of(current)
