"""The shape of every aggregate: a ``Decider`` value (stream type, initial state, evolve, decide).

Each ``domain/<aggregate>/decider.py`` exports one, ``DECIDER``; ``domain/deciders.py`` lists
them all, and the commands' load and write helpers take one, so a stream type is written once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

S = TypeVar("S")
C = TypeVar("C")
E = TypeVar("E")


@dataclass(frozen=True)
class Decider(Generic[S, C, E]):
    """``evolve`` never raises and ignores what it does not know; every rule is in ``decide``."""

    stream_type: str
    initial: S
    evolve: Callable[[S, E], S]
    decide: Callable[[C, S], list[E]]

    def fold(self, state: S, events: Iterable[E]) -> S:
        for event in events:
            state = self.evolve(state, event)
        return state

    def decide_all(self, commands: Sequence[C], state: S) -> list[E]:
        """Decide each command on the state the previous ones left (a PATCH of several)."""
        events: list[E] = []
        for command in commands:
            decided = self.decide(command, state)
            state = self.fold(state, decided)
            events.extend(decided)
        return events
