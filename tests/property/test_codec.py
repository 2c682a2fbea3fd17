"""Every event type round-trips exactly through the envelope codec, under its persisted tag."""

from __future__ import annotations

import typing
from datetime import UTC, datetime
from uuid import UUID

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.apikey.events import ApiKeyCreated
from domain.envelope import SYSTEM, AnyEvent, Envelope, decode, encode, event_type
from domain.permissions import ApiPermission, Conditions
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


# An apikey.Created envelope exactly as the store held it before ApiPermission moved to
# domain/permissions.py: the bytes already written must decode to the same permissions.
STORED_KEY_CREATED = (
    b'{"event_id":"00000000-0000-0000-0000-000000000001",'
    b'"stream_id":"00000000-0000-0000-0000-000000000002","stream_type":"apikey","version":1,'
    b'"organization_id":"00000000-0000-0000-0000-000000000003",'
    b'"occurred_at":"2026-11-30T09:00:00Z","actor":{"kind":"system","id":"chronicle"},'
    b'"request_id":"req-1","correlation_id":"req-1","causation_id":"req-1","schema_version":1,'
    b'"event":{"type":"apikey.Created","organization_id":"00000000-0000-0000-0000-000000000003",'
    b'"name":"ci","environment":"live","hashed_key":"ab12","permissions":['
    b'{"resource":"organizations","actions":["read","update"],'
    b'"conditions":{"fields":["name","plan"],"filters":{"plan":"pro","seats":3}}},'
    b'{"resource":"*","actions":["read"],"conditions":null}],"created_by":"operator",'
    b'"rate_limit":null,"expires_at":null,"require_signature":false,"role":null}}')


def test_an_api_key_stored_before_the_permissions_kernel_decodes_and_encodes_the_same() -> None:
    envelope = decode(STORED_KEY_CREATED)
    assert isinstance(envelope.event, ApiKeyCreated)
    assert envelope.event.permissions == (
        ApiPermission(resource="organizations", actions=("read", "update"),
                      conditions=Conditions(fields=("name", "plan"),
                                            filters={"plan": "pro", "seats": 3})),
        ApiPermission(resource="*", actions=("read",)))
    assert encode(envelope) == STORED_KEY_CREATED
