"""Every event type round-trips exactly through the envelope codec, under its persisted tag."""

from __future__ import annotations

import typing
from datetime import UTC, datetime
from uuid import UUID

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.envelope import SYSTEM, AnyEvent, Envelope, decode, encode, event_type
from tests.property.strategies import EVENT_STRATEGIES, envelopes, events

EVENT_TYPES = typing.get_args(AnyEvent)


def test_the_strategies_cover_every_member_of_the_event_union() -> None:
    assert set(EVENT_STRATEGIES) == set(EVENT_TYPES)


def test_no_two_event_types_share_a_tag() -> None:
    tags = [event_type.__struct_config__.tag for event_type in EVENT_TYPES]
    assert len(set(tags)) == len(tags)


@pytest.mark.parametrize("event_class", EVENT_TYPES, ids=lambda cls: cls.__name__)
@given(data=st.data())
@settings(deadline=None)  # wall-clock deadlines flake on a loaded CI runner
def test_an_envelope_of_each_event_type_round_trips_exactly(
        event_class: type, data: st.DataObject) -> None:
    envelope = data.draw(envelopes(EVENT_STRATEGIES[event_class]))
    decoded = decode(encode(envelope))
    assert decoded == envelope
    assert type(decoded.event) is event_class
    assert decoded.occurred_at.utcoffset() == envelope.occurred_at.utcoffset()


@given(envelope=envelopes())
@settings(deadline=None)
def test_the_decoded_event_type_is_the_tag_written_in_the_bytes(envelope: Envelope) -> None:
    data = encode(envelope)
    raw = msgspec.json.decode(data)
    assert decode(data).event_type == raw["event"]["type"] == event_type(envelope.event)
    namespace = type(envelope.event).__module__.split(".")[1]
    assert raw["event"]["type"].startswith(f"{namespace}.")


@given(envelope=envelopes())
@settings(deadline=None)
def test_encoding_is_stable_across_a_round_trip(envelope: Envelope) -> None:
    data = encode(envelope)
    assert encode(decode(data)) == data


@given(event=events)
@settings(deadline=None)
def test_the_occurrence_time_is_written_as_utc_to_the_microsecond(event: AnyEvent) -> None:
    envelope = Envelope(
        event_id=UUID(int=1), stream_id=UUID(int=2), stream_type="organization", version=1,
        organization_id=UUID(int=2), occurred_at=datetime(2024, 2, 29, 12, 30, 0, 123456, UTC),
        actor=SYSTEM, request_id="req", correlation_id="cor", causation_id="cau", event=event)
    raw = msgspec.json.decode(encode(envelope))
    assert raw["occurred_at"] == "2024-02-29T12:30:00.123456Z"
    assert raw["schema_version"] == 1
