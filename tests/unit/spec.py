"""Given events / when command / then events (or error): one spec helper for every decider.

    spec = Specification(organization.DECIDER)
    spec.given(CREATED).when(RenameOrganization(name="New")).then(RENAMED)
    spec.given(CREATED, DELETED).when(CREATE).then_raises(AlreadyExists)
    spec.given(CREATED).state  # the history folded, for tests that look at the state
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar

import pytest

from domain.decider import Decider
from domain.errors import DomainError

S = TypeVar("S")
C = TypeVar("C")
E = TypeVar("E")


@dataclass(frozen=True)
class Specification(Generic[S, C, E]):
    decider: Decider[S, C, E]
    history: tuple[Any, ...] = ()
    command: Any = None

    def given(self, *events: Any) -> Specification[S, C, E]:
        return replace(self, history=events, command=None)

    def when(self, command: Any) -> Specification[S, C, E]:
        return replace(self, command=command)

    @property
    def state(self) -> S:
        return self.decider.fold(self.decider.initial, self.history)

    def decided(self) -> list[E]:
        assert self.command is not None, "call .when(command) first"
        return self.decider.decide(self.command, self.state)

    def then(self, *expected: Any) -> None:
        assert self.decided() == list(expected)

    def then_raises(self, error: type[DomainError], *, field: str | None = None) -> DomainError:
        """The command is refused with exactly ``error`` on ``field``; the error, for more."""
        with pytest.raises(DomainError) as caught:
            self.decided()
        assert type(caught.value) is error
        assert caught.value.field == field
        return caught.value

    def then_code(self) -> str:
        """The refusal's code, whatever its class (for tables of rule -> code)."""
        with pytest.raises(DomainError) as caught:
            self.decided()
        return caught.value.code
