"""The tuple of deciders is the one list of aggregates: every event type belongs to one."""

from __future__ import annotations

import typing

from domain.access import decider as access
from domain.access.events import AccessDenied
from domain.deciders import AGGREGATES, DECIDERS
from domain.envelope import AnyEvent
from tests.unit.spec import Specification


def test_every_events_namespace_is_one_deciders_stream_type() -> None:
    namespaces = {str(t.__struct_config__.tag).split(".")[0] for t in typing.get_args(AnyEvent)}
    assert len(AGGREGATES) == len(set(AGGREGATES)) == len(DECIDERS)
    assert set(AGGREGATES) == namespaces


def test_a_denied_request_is_recorded_as_it_happened() -> None:
    denied = AccessDenied(method="GET", path="/v1/users", status=403, code="forbidden",
                          reason="permission_denied")
    Specification(access.DECIDER).given().when(denied).then(denied)
    assert Specification(access.DECIDER).given(denied).state.recorded
