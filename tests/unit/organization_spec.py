"""Given events / when command / then events (or error): the organization decider's spec helper."""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce

import pytest

from domain.errors import DomainError
from domain.organization.commands import OrganizationCommand
from domain.organization.decider import INITIAL, decide, evolve
from domain.organization.events import OrganizationEvent


@dataclass(frozen=True)
class Spec:
    history: tuple[OrganizationEvent, ...]
    command: OrganizationCommand | None = None

    def when(self, command: OrganizationCommand) -> Spec:
        return Spec(self.history, command)

    def _decide(self) -> list[OrganizationEvent]:
        assert self.command is not None, "call .when(command) first"
        return decide(self.command, reduce(evolve, self.history, INITIAL))

    def then(self, *expected: OrganizationEvent) -> None:
        assert self._decide() == list(expected)

    def then_raises(self, error: type[DomainError], *, field: str | None = None) -> None:
        with pytest.raises(DomainError) as caught:
            self._decide()
        assert type(caught.value) is error
        assert caught.value.field == field


def given(*events: OrganizationEvent) -> Spec:
    return Spec(events)
