"""Webhook endpoint properties: replay equals live state over random command sequences, a
live endpoint always has a secret to sign with, and filters match as their definition says."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.envelope import AnyEvent
from domain.errors import DomainError
from domain.webhook_endpoint import decider as wh
from domain.webhook_endpoint import filters
from domain.webhook_endpoint.commands import (
    DeleteEndpoint,
    DisableEndpoint,
    EnableEndpoint,
    RegisterEndpoint,
    Replay,
    RollSecret,
    SendTest,
    UpdateEndpoint,
)

ORG = uuid.UUID(int=7)
T0 = datetime(2026, 12, 1, tzinfo=UTC)
urls = st.sampled_from(["https://a.example/in", "https://b.example/in", "ftp://bad/"])
types = st.lists(st.sampled_from(["*", "resource.*", "user.Invited", "Bad"]), min_size=1,
                 max_size=3).map(tuple)
commands = st.one_of(
    st.builds(RegisterEndpoint, organization_id=st.just(ORG), url=urls, event_types=types,
              sealed_secret=st.sampled_from(["s1", "s2"]), active=st.booleans()),
    st.builds(UpdateEndpoint, url=st.none() | urls, event_types=st.none() | types,
              description=st.none() | st.sampled_from(["", "x"])),
    st.builds(RollSecret, sealed_secret=st.sampled_from(["s3", "s4"]),
              previous_until=st.integers(0, 48).map(lambda h: T0 + timedelta(hours=h))),
    st.builds(DisableEndpoint, reason=st.sampled_from(["gone", "failures", "manual"])),
    st.just(EnableEndpoint()), st.just(DeleteEndpoint()),
    st.builds(SendTest, test_id=st.uuids()),
    st.builds(Replay, from_position=st.none() | st.integers(-1, 10)))
_decode = msgspec.json.Decoder(AnyEvent)


@given(sequence=st.lists(commands, max_size=12))
@settings(deadline=None)
def test_replaying_the_stored_events_gives_the_live_state(sequence: list[Any]) -> None:
    live, history = wh.INITIAL, []
    for command in sequence:
        try:
            events = wh.decide(command, live)
        except DomainError:
            continue
        history += events
        live = wh.DECIDER.fold(live, events)
    stored = [_decode.decode(msgspec.json.encode(e)) for e in history]
    assert wh.DECIDER.fold(wh.INITIAL, stored) == live
    if live.status in ("active", "disabled"):
        assert live.signing_secrets(T0)[0] == live.sealed_secret != ""
        assert all(filters.FILTER.fullmatch(f) for f in live.event_types)


@given(kind=st.sampled_from(["user", "resource", "role"]),
       name=st.sampled_from(["Created", "Deleted", "Invited"]))
def test_a_filter_matches_exactly_its_own_types(kind: str, name: str) -> None:
    event_type = f"{kind}.{name}"
    assert filters.matches(("*",), event_type)
    assert filters.matches((f"{kind}.*",), event_type)
    assert filters.matches((f"*.{name}",), event_type)
    assert filters.matches((event_type,), event_type)
    assert not filters.matches((f"{kind}x.*",), event_type)
    assert not filters.matches((f"{kind}.{name}x",), event_type)
