"""The ports the use cases depend on: what an event store and a password hasher do for them.

``infra/eventstore.py`` implements the store on PostgreSQL (the composition root's), and
``infra/memorystore.py`` in memory (for use-case tests that run in milliseconds).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol
from uuid import UUID

from commands.idempotency import Record
from domain.envelope import Envelope

# Given the position of the last event appended, the idempotency record to commit with them.
Sealing = Callable[[int], Record]


class ConcurrencyError(Exception):
    """Another writer appended to one of the streams first (stale expected version)."""


class DuplicateRecord(Exception):
    """A row written with the events (an idempotency record) already exists: nothing was written."""


class Passwords(Protocol):
    """One-way password hashes (infra/credentials.py: argon2id)."""

    def hash(self, password: str) -> str: ...

    def check(self, password_hash: str, password: str) -> bool:
        """Whether ``password`` is the hashed one; an empty hash matches nothing (and takes
        as long as a real one, so an unknown email answers as slowly as a wrong password)."""
        ...


class EventStore(Protocol):
    # The largest encoded event the store lets through (the bus's limit, with room to spare).
    @property
    def max_event_bytes(self) -> int: ...

    def load(self, stream_id: UUID, *, lte: int | None = None) -> list[Envelope]:
        """The stream's envelopes in version order (up to version ``lte``)."""
        ...

    def append(self, envelopes: Sequence[Envelope], *,
               sealing: Sealing | None = None) -> list[int]:
        """Append in one transaction, each envelope at its version (ConcurrencyError if a
        version is taken), with the sealing's idempotency record (DuplicateRecord if its key
        is live); returns the store positions, in order."""
        ...

    def record(self, record: Record) -> None:
        """Record the response of a command that appended nothing (DuplicateRecord if live)."""
        ...
