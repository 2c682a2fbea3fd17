"""The bulk worker's rounds: a finished operation is not applied again while the read model
still lists it, and a round where every operation failed makes the worker wait."""

from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

from infra.bulk import BulkWorker
from infra.settings import load_settings


class Rows:
    def __init__(self, ids: list[UUID]) -> None:
        self.ids = ids

    def fetchall(self) -> list[tuple[UUID]]:
        return [(i,) for i in self.ids]

    def fetchone(self) -> tuple[int, list[UUID]]:
        """The event store's answers (its head; the submissions since): none appended."""
        return 0, []


class Listing:
    """A connection whose open-operations query answers ``ids`` (and the store nothing new)."""

    def __init__(self, ids: list[UUID]) -> None:
        self.ids = ids

    def execute(self, _query: str, _params: Any = None) -> Rows:
        return Rows(self.ids)


class Commands:
    def __init__(self, failing: set[UUID]) -> None:
        self.failing = failing
        self.calls: list[UUID] = []

    def process(self, operation_id: UUID, **_: Any) -> bool:
        self.calls.append(operation_id)
        if operation_id in self.failing:
            raise RuntimeError("poison")
        return True


def test_a_finished_operation_is_not_applied_again_and_a_failing_one_makes_the_worker_wait(
        ) -> None:
    ok, bad = uuid.uuid4(), uuid.uuid4()
    commands = Commands({bad})
    worker = BulkWorker(load_settings(), commands)  # type: ignore[arg-type]
    conn: Any = Listing([ok, bad])
    assert worker.round(conn) is True
    assert worker.round(conn) is False  # only the failing one is left: wait, do not spin
    assert commands.calls == [ok, bad, bad]
    assert (worker.operations_finished, worker.errors) == (1, 2)
    assert worker.last_error == "RuntimeError: poison"
