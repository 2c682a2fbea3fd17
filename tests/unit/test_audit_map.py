"""The audit trail's mapping: every event type has one, and no credential leaves redacted."""

from __future__ import annotations

import re
import typing
import uuid
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.apikey import decider as apikey
from domain.apikey.events import ApiKeyCreated, ApiKeyRolled
from domain.deciders import DECIDERS
from domain.envelope import AnyEvent, event_type
from domain.user import decider as user
from domain.user.events import UserPasswordSet
from projections.audit_map import ENTRIES, REDACTED, diff, entry_of
from tests.property.strategies import EVENT_STRATEGIES

EVENT_TYPES = typing.get_args(AnyEvent)
BY_TYPE = {d.stream_type: d for d in DECIDERS}
# Written apart from the mapping's own pattern, so a field the mapping misses fails here.
SECRET_LOOKING = re.compile(r"secret|hash|token|password|cipher|salt|signature|private"
                            r"|credential", re.IGNORECASE)


def leaks(value: Any, path: str = "") -> list[str]:
    """The paths of secret-looking fields whose value is shown."""
    if isinstance(value, dict):
        found = []
        for k, v in value.items():
            shown = not isinstance(v, bool | int | float) and v not in ("", None, [], {}, REDACTED)
            if SECRET_LOOKING.search(k) and shown:
                found.append(f"{path}.{k}")
            found += leaks(v, f"{path}.{k}")
        return found
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in leaks(v, f"{path}[{i}]")]
    return []


@pytest.mark.parametrize("event_class", EVENT_TYPES, ids=lambda cls: cls.__name__)
def test_every_event_type_of_the_union_has_an_audit_mapping(event_class: type) -> None:
    assert event_class.__struct_config__.tag in ENTRIES


def test_the_mapping_names_no_event_type_that_does_not_exist() -> None:
    assert set(ENTRIES) == {cls.__struct_config__.tag for cls in EVENT_TYPES}


@pytest.mark.parametrize("event_class", EVENT_TYPES, ids=lambda cls: cls.__name__)
@given(data=st.data())
@settings(deadline=None, max_examples=30)
def test_no_event_shows_a_credential_in_its_audit_diff(event_class: type,
                                                       data: st.DataObject) -> None:
    event = data.draw(EVENT_STRATEGIES[event_class])
    decider = BY_TYPE[event_type(event).split(".")[0]]
    # Before: the stream after an event of the same type, so secrets exist on both sides.
    before = decider.evolve(decider.initial, data.draw(EVENT_STRATEGIES[event_class]))
    for state in (decider.initial, before):
        old, new = diff(state, decider.evolve(state, event), event)
        assert not leaks(old) + leaks(new), (old, new)
        assert entry_of(event)[1]


def test_a_changed_secret_shows_as_changed_but_never_its_value() -> None:
    before = user.evolve(user.INITIAL, UserPasswordSet(password_hash="$argon2id$old"))
    event = UserPasswordSet(password_hash="$argon2id$new")
    old, new = diff(before, user.evolve(before, event), event)
    assert old == {"password_hash": REDACTED}
    assert new == {"password_hash": REDACTED}


def test_the_diff_holds_only_what_changed_and_what_the_event_adds() -> None:
    created = ApiKeyCreated(organization_id=uuid.uuid4(), name="ci", environment="live",
                            hashed_key="abc" * 20, permissions=(), created_by="operator")
    state = apikey.evolve(apikey.INITIAL, created)
    rolled = ApiKeyRolled(hashed_key="def" * 20, previous_hashed_key="abc" * 20,
                          previous_valid_until=datetime(2026, 12, 2, tzinfo=UTC))
    old, new = diff(state, apikey.evolve(state, rolled), rolled)
    assert old is not None
    assert new is not None
    assert "name" not in old
    assert "status" not in old
    assert old["hashed_key"] == new["hashed_key"] == REDACTED
    assert "abc" * 20 not in msgspec.json.encode([old, new]).decode()
