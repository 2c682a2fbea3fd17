"""Alert rule properties over random command sequences: replay equals live state, and firing
and resolving strictly alternate, each one at most once in a row."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.alert_rule import decider as alert
from domain.alert_rule.commands import (
    CreateAlertRule,
    DeleteAlertRule,
    FireAlert,
    ResolveAlert,
    UpdateAlertRule,
)
from domain.alert_rule.events import AlertFired, AlertResolved
from domain.errors import DomainError

AT = datetime(2026, 12, 1, tzinfo=UTC)
metrics = st.sampled_from(["error_rate", "p95_ms", "request_rate", "projection_lag"])
thresholds = st.sampled_from([0.0, 0.5, 1.0, 2.0, 250.0, -1.0])
values = st.floats(0, 1000)
commands = st.one_of(
    st.builds(CreateAlertRule, organization_id=st.none() | st.just(uuid.UUID(int=3)),
              name=st.sampled_from(["a", " b ", ""]), metric=metrics,
              window_seconds=st.sampled_from([30, 60, 3600]),
              comparison=st.sampled_from(["gt", "lt"]), threshold=thresholds),
    st.builds(UpdateAlertRule, threshold=st.none() | thresholds, metric=st.none() | metrics,
              enabled=st.none() | st.booleans(), route=st.none() | st.just("/v1/x"),
              clear_route=st.booleans()),
    st.builds(FireAlert, value=values, at=st.just(AT)),
    st.builds(ResolveAlert, value=values, at=st.just(AT)),
    st.just(DeleteAlertRule()),
)


@given(sequence=st.lists(commands, max_size=20))
@settings(deadline=None)
def test_replay_equals_live_state_and_transitions_alternate(sequence: list[Any]) -> None:
    live, history = alert.INITIAL, []
    for command in sequence:
        try:
            events = alert.decide(command, live)
        except DomainError:
            continue
        history += events
        live = alert.DECIDER.fold(live, events)
    assert alert.DECIDER.fold(alert.INITIAL, history) == live
    transitions = [type(e) for e in history if isinstance(e, AlertFired | AlertResolved)]
    assert transitions == [AlertFired, AlertResolved] * (len(transitions) // 2) + (
        [AlertFired] if len(transitions) % 2 else [])
    assert live.firing == (len(transitions) % 2 == 1)
    if live.status != "absent":
        top = 1.0 if live.metric == "error_rate" else 1e12
        assert 0 <= live.threshold <= top
        assert 60 <= live.window_seconds <= 86_400
