"""The bulk worker's cheap ids are the standard ones: a named id is uuid5's very value (a
resumed operation derives the ids an earlier run did), a random one is a version 4 uuid."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from commands.ids import NamedIds, random_ids


@given(namespace=st.uuids(), prefix=st.text(max_size=20), n=st.integers(min_value=0))
def test_a_named_id_is_uuid5_of_the_prefixed_number(namespace: uuid.UUID, prefix: str,
                                                     n: int) -> None:
    assert NamedIds(namespace, prefix)(n) == uuid.uuid5(namespace, f"{prefix}{n}")


def test_random_ids_are_distinct_version_4_uuids_across_several_draws() -> None:
    new_id = random_ids(batch=8)
    ids = [new_id() for _ in range(100)]
    assert len(set(ids)) == 100
    assert {(i.version, i.variant) for i in ids} == {(4, uuid.RFC_4122)}
    assert all(uuid.UUID(str(i)) == i for i in ids)
