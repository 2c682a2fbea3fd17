"""Resource type properties: replay equals live state over random command sequences."""

from __future__ import annotations

import uuid
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import DomainError
from domain.resource_type import decider as rt
from domain.resource_type.commands import ChangeResourceType, RegisterResourceType

ORG = uuid.UUID(int=7)
props = st.dictionaries(st.sampled_from(["a", "b", "c", "d"]),
                        st.sampled_from([{"type": "string"}, {"type": "integer"}]), max_size=4)
schemas = st.builds(lambda p, r: {"type": "object", "properties": p, "required": r}, props,
                    st.lists(st.sampled_from(["a", "b"]), max_size=2, unique=True))
commands = st.one_of(
    st.builds(RegisterResourceType, organization_id=st.just(ORG), name=st.just("things"),
              schema=schemas),
    st.builds(ChangeResourceType, schema=st.none() | schemas,
              description=st.none() | st.sampled_from(["", "x", "y"])))


@given(sequence=st.lists(commands, max_size=12))
@settings(deadline=None)
def test_replaying_the_recorded_events_gives_the_live_state(sequence: list[Any]) -> None:
    live, history = rt.INITIAL, []
    for command in sequence:
        try:
            events = rt.decide(command, live)
        except DomainError:
            continue
        history += events
        live = rt.DECIDER.fold(live, events)
    assert rt.DECIDER.fold(rt.INITIAL, history) == live
    assert live.type_version == (0 if live.status == "absent" else 1 + sum(
        1 for e in history if type(e).__name__ == "VersionAdded"))
