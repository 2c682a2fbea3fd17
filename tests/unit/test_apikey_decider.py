"""Given/when/then on the API key decider, and on which presented hashes it accepts."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from domain.apikey import decider as key
from domain.apikey.events import ApiKeyCreated, ApiKeyRevoked, ApiKeyRolled
from domain.errors import AlreadyExists, InvalidState, InvalidValue, NotFound
from domain.permissions import ApiPermission
from tests.unit.spec import Specification

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
ORG = uuid.UUID(int=7)
READ = ApiPermission(resource="organizations", actions=("read",))


def create(**changes: object) -> key.CreateApiKey:
    fields: dict[str, object] = {
        "organization_id": ORG, "name": "ci", "environment": "live", "hashed_key": "h1",
        "permissions": (READ,), "created_by": "operator", "now": NOW}
    fields.update(changes)
    return key.CreateApiKey(**fields)  # type: ignore[arg-type]


def fold(*events: object) -> key.ApiKey:
    return Specification(key.DECIDER).given(*events).state


CREATED = ApiKeyCreated(organization_id=ORG, name="ci", environment="live", hashed_key="h1",
                        permissions=(READ,), created_by="operator")


def test_creating_a_key_records_its_hash_permissions_and_owner() -> None:
    assert key.decide(create(), key.INITIAL) == [CREATED]


@pytest.mark.parametrize(("changes", "code"), [
    ({"name": "  "}, "api_key_name_invalid"),
    ({"name": "n" * 256}, "api_key_name_invalid"),
    ({"permissions": (READ,) * 51}, "api_key_too_many_permissions"),
    ({"expires_at": NOW}, "api_key_expiry_in_past"),
])
def test_a_bad_key_request_is_rejected_with_its_code(changes: dict[str, object],
                                                    code: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        key.decide(create(**changes), key.INITIAL)
    assert caught.value.code == code


def test_a_key_cannot_be_created_twice() -> None:
    with pytest.raises(AlreadyExists) as caught:
        key.decide(create(), fold(CREATED))
    assert caught.value.code == "api_key_exists"


def test_rolling_keeps_the_old_hash_valid_for_the_grace_period() -> None:
    events = key.decide(key.RollApiKey(hashed_key="h2", grace=timedelta(hours=1), now=NOW),
                        fold(CREATED))
    assert events == [ApiKeyRolled(hashed_key="h2", previous_hashed_key="h1",
                                   previous_valid_until=NOW + timedelta(hours=1))]
    state = fold(CREATED, *events)
    assert key.accepts(state, "h2", NOW)
    assert key.accepts(state, "h1", NOW + timedelta(minutes=59))
    assert not key.accepts(state, "h1", NOW + timedelta(hours=1))


def test_a_grace_period_over_seven_days_is_refused() -> None:
    with pytest.raises(InvalidValue) as caught:
        key.decide(key.RollApiKey(hashed_key="h2", grace=timedelta(days=8), now=NOW),
                   fold(CREATED))
    assert caught.value.code == "api_key_grace_out_of_range"


def test_a_revoked_key_accepts_nothing_and_cannot_be_rolled_or_revoked_again() -> None:
    state = fold(CREATED, ApiKeyRevoked())
    assert not key.accepts(state, "h1", NOW)
    for command in (key.RevokeApiKey(), key.RollApiKey(hashed_key="h3", grace=timedelta(0),
                                                       now=NOW)):
        with pytest.raises(InvalidState) as caught:
            key.decide(command, state)
        assert caught.value.code == "api_key_revoked"


def test_commands_on_an_unknown_key_are_not_found() -> None:
    with pytest.raises(NotFound) as caught:
        key.decide(key.RevokeApiKey(), key.INITIAL)
    assert caught.value.code == "api_key_not_found"


def test_an_expired_key_is_not_accepted() -> None:
    state = fold(ApiKeyCreated(organization_id=ORG, name="ci", environment="live",
                               hashed_key="h1", permissions=(), created_by="op",
                               expires_at=NOW + timedelta(seconds=1)))
    assert key.accepts(state, "h1", NOW)
    assert not key.accepts(state, "h1", NOW + timedelta(seconds=1))
    assert not key.accepts(state, "wrong", NOW)
