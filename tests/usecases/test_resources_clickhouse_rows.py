"""The analysts' ClickHouse rows (projections/resources_clickhouse.rows) on the in-memory store:
whichever part of a stream a batch holds, the row is the stream folded up to the batch's newest
version, and the store is read only for streams the batch does not hold from version 1."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from domain.envelope import Envelope
from domain.resource.commands import Content
from projections.base import Item
from projections.resources_clickhouse import row, rows
from tests.builders import context
from tests.usecases.conftest import RacingStore
from tests.usecases.test_resources import world


class Counted:
    """The store's load_many, remembering which streams it was asked for."""

    def __init__(self, store: RacingStore) -> None:
        self.store, self.asked = store, list[UUID]()

    def __call__(self, stream_ids: Sequence[UUID]) -> dict[UUID, list[Envelope]]:
        self.asked += stream_ids
        return self.store.load_many(stream_ids)


def items(envelopes: list[Envelope]) -> list[Item]:
    return [Item(position, e) for position, e in enumerate(envelopes, start=100)]


def history(store: RacingStore) -> tuple[UUID, list[Envelope]]:
    resources, org = world(store)
    rid = resources.create(context(), org, "bees", Content(data={"n": 1})).stream_id
    resources.patch(context(), org, "bees", rid, {"data": {"n": 2}})
    resources.delete(context(), org, "bees", rid)
    return rid, store.load(rid)


def test_a_batch_holding_a_stream_from_its_first_version_is_folded_without_the_store(
        store: RacingStore) -> None:
    rid, envelopes = history(store)
    load = Counted(store)
    [made] = rows(items(envelopes[:2]), "resource", load)
    assert load.asked == []
    assert made == row(rid, envelopes[:2], 101)
    assert made[3] == 2  # the version: the patch, not the delete the batch does not hold


def test_a_batch_holding_a_later_part_of_a_stream_folds_the_stored_stream_up_to_its_newest(
        store: RacingStore) -> None:
    rid, envelopes = history(store)
    load = Counted(store)
    [made] = rows(items(envelopes[1:2]), "resource", load)
    assert load.asked == [rid]
    assert made == row(rid, envelopes[:2], 100)


def test_a_redelivered_event_in_the_batch_makes_the_same_row_from_the_store(
        store: RacingStore) -> None:
    rid, envelopes = history(store)
    load = Counted(store)
    [made] = rows(items([envelopes[0], envelopes[0], *envelopes[1:]]), "resource", load)
    assert load.asked == [rid]
    assert made == row(rid, envelopes, 103)
    assert made[7] == "deleted"
