"""Transactions: up to MAX_TRANSACTION_ITEMS resource writes of one organization, across
resources and types, applied in ONE append (one database transaction) or not at all.

Every item is decided on the state the items before it left (``commands/batch.py``); an
item refused by a rule, or whose expected version is stale, refuses the whole transaction
and names its index. A concurrent writer makes the append fail on its (stream, version) key:
the transaction is decided again from the new state, where a pinned item finds the version
changed (412) and the others write over the newer state, as a single write would.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple
from uuid import UUID

from commands.batch import Applied, Batch
from commands.idempotency import Claim, Record, Rendered
from commands.ports import ConcurrencyError, EventStore, Schemas
from commands.resources import stamp_of
from commands.runner import (
    Context,
    TooMuchContention,
    VersionConflict,
    check_sizes,
    envelopes,
)
from domain.errors import DomainError, InvalidValue
from domain.limits import MAX_TRANSACTION_ITEMS
from domain.resource.writes import ResourceWrite


class ItemVersionConflict(VersionConflict):
    """Item ``index``'s expected version is not its resource's version: nothing committed."""

    def __init__(self, index: int, expected: int, actual: int | None) -> None:
        super().__init__(expected, actual)
        self.index = index


class Committed(NamedTuple):
    """Each item's resource and new version, in order, and the position of the last event."""

    items: list[Applied]
    position: int | None


class TxSeal(NamedTuple):
    """An idempotency claim and how to render the transaction's response for it."""

    claim: Claim
    render: Callable[[Committed], Rendered]


class TransactionCommands:
    def __init__(self, store: EventStore, schemas: Schemas, *, retries: int = 5) -> None:
        self.store, self.schemas, self.retries = store, schemas, retries

    def commit(self, ctx: Context, organization_id: UUID, items: Sequence[ResourceWrite],
               seal: TxSeal | None = None, *,
               dependents: Mapping[UUID, Sequence[UUID]] | None = None) -> Committed:
        """``dependents``: for each resource an item deletes, the live resources that depend
        on it as the read model has them (``resource_queries.dependents``)."""
        if not 1 <= len(items) <= MAX_TRANSACTION_ITEMS:
            raise InvalidValue(f"a transaction has 1 to {MAX_TRANSACTION_ITEMS} items",
                               field="items", code="transaction_items_count",
                               params={"max": MAX_TRANSACTION_ITEMS})
        for _ in range(self.retries + 1):
            batch = Batch(self.store, self.schemas, organization_id, grants=ctx.grants,
                          dependents=lambda _org, _deleted: dependents or {},
                          stamp=stamp_of(ctx))
            batch.prefetch(items)
            applied = [_decided(batch, index, item, ctx.new_id())
                       for index, item in enumerate(items)]
            stored = envelopes(ctx, batch.writes)
            if not stored:  # every item changed nothing (deletes of deleted resources)
                done = Committed(applied, None)
                if seal is not None:
                    self.store.record(Record(seal.claim, seal.render(done)))
                return done
            check_sizes(stored, self.store.max_event_bytes)
            sealing = None if seal is None else _sealing(seal, applied)
            try:
                positions = self.store.append(stored, sealing=sealing)
            except ConcurrencyError:
                continue
            return Committed(applied, max(positions))
        raise TooMuchContention("the resources kept changing; try again")


def _decided(batch: Batch, index: int, item: ResourceWrite, new_id: UUID) -> Applied:
    """The item staged, or its error naming it: ``items[<index>]`` before the field."""
    try:
        return batch.apply(item, new_id)
    except VersionConflict as e:
        raise ItemVersionConflict(index, e.expected, e.actual) from None
    except DomainError as e:
        named = copy.copy(e)
        named.field = f"items[{index}]" + (f".{e.field}" if e.field else "")
        raise named from None


def _sealing(seal: TxSeal, applied: list[Applied]) -> Callable[[int], Record]:
    return lambda position: Record(seal.claim, seal.render(Committed(applied, position)))
