"""What a projection is to the runner that feeds it: the events it gets and the calls it answers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple, Protocol

import psycopg

from domain.envelope import Envelope

# A ClickHouse projection's batches: at most this much later than their first event, and a
# few inserts a second under load instead of one per few events.
CLICKHOUSE_LINGER_S = 0.25


class Item(NamedTuple):
    position: int
    envelope: Envelope


class Projection(Protocol):
    """A read model fed by events; ``apply`` runs inside the checkpoint's transaction."""

    name: str
    aggregates: tuple[str, ...]
    # Its writes only write (no rowcount, no result read back but by a fetch): the runner then
    # sends a batch's statements in one pipeline instead of one round trip each.
    pipelined: bool = False
    # How long its runner waits, after a batch's first event, for more (None: the settings'
    # PROJECTOR_LINGER_MS). ClickHouse wants few large inserts: each one makes a part.
    linger_s: float | None = None

    def apply(self, cur: psycopg.Cursor, items: Sequence[Item]) -> None: ...

    def after_commit(self, items: Sequence[Item]) -> None:
        """Called once the batch is committed (best effort: a failure is logged, not retried)."""
        return
